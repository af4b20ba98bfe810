package dev.loupe.spark;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * local-cluster[2,1,1024]: two executor JVMs. One is killed with kill -9 while it indexes a part; the job still
 * finishes, and the run equals a one-machine run of the same corpus and options.
 */
class LocalClusterTest {
    @TempDir Path tmp;

    @Test void survivesAnExecutorKilledMidIndexAndEqualsOneMachine() throws Exception {
        Path corpus = SparkRuns.corpus(tmp, 40, 7);
        int shardTokens = 32;
        Path one = tmp.resolve("one");
        SparkRuns.oneMachine(corpus, one, SparkRuns.options(shardTokens));

        Path out = tmp.resolve("spark");
        Process driver = SparkRuns.driver(tmp, tmp, List.of(), SparkRuns.args("local-cluster[2,1,1024]", 4, corpus, out, shardTokens));
        long killed = -1;
        long deadline = System.currentTimeMillis() + 400_000;
        while (killed < 0 && driver.isAlive() && System.currentTimeMillis() < deadline) {
            killed = killAnIndexingExecutor(driver, out);
            Thread.sleep(50);
        }
        int code = SparkRuns.await(driver, tmp, 500);
        assertEquals(0, code, "driver failed: " + SparkRuns.stderr(tmp));
        assertTrue(killed > 0, "no executor was caught indexing (the job finished first): " + SparkRuns.stdout(tmp));
        assertTrue(SparkRuns.stdout(tmp).contains("indexed 40 documents"), SparkRuns.stdout(tmp));
        SparkRuns.assertSameRun(one, out);
    }

    /**
     * Finds a part whose lock an executor holds and that has committed a shard (so the kill lands mid-part), and
     * kills that executor with kill -9. Only a descendant of our driver is ever killed. Returns its pid, or -1.
     */
    private static long killAnIndexingExecutor(Process driver, Path out) throws Exception {
        Path parts = out.resolve(".parts");
        if (!Files.isDirectory(parts)) return -1;
        Set<Long> executors = driver.descendants().map(ProcessHandle::pid).collect(Collectors.toSet());
        List<Path> folders;
        try (Stream<Path> s = Files.list(parts)) {
            folders = s.filter(Files::isDirectory).sorted().toList();
        }
        for (Path f : folders) {
            Optional<Long> pid = holder(f.resolve(".lock"));
            if (pid.isEmpty() || !executors.contains(pid.get())) continue;
            if (!Files.isRegularFile(f.resolve(".partial").resolve("shard-00000.json"))) continue;
            if (Files.isRegularFile(f.resolve("part.json"))) continue;
            Process kill = new ProcessBuilder("kill", "-9", Long.toString(pid.get())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            return pid.get();
        }
        return -1;
    }

    private static Optional<Long> holder(Path lock) {
        try {
            String s = Files.readString(lock).strip();
            if (!s.startsWith("pid ")) return Optional.empty();
            return Optional.of(Long.parseLong(s.substring(4, s.indexOf(' ', 4))));
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}
