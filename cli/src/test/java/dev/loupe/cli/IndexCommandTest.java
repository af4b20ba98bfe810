package dev.loupe.cli;

import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** loupe index (with a real kill -9 and resume) and loupe features on tiny-a and its SAE fixture. */
class IndexCommandTest {
    private static final String HOOK = "blocks.2.hook_resid_post";
    @TempDir Path dir;

    private static String sae() { return Fixtures.file("tiny-a/sae").toString(); }

    private static String gguf() { return Fixtures.file("tiny-a/tiny-a-f32.gguf").toString(); }

    private Path corpus() throws IOException {
        List<String> lines = new ArrayList<>();
        String[] words = {"river", "bridge", "seven", "glass", "lamp", "north", "paper", "storm", "garden", "iron", "quiet", "music"};
        for (int d = 0; d < 14; d++) {
            StringBuilder sb = new StringBuilder("Document " + d + ":");
            for (int w = 0; w < 14; w++) sb.append(' ').append(words[(d * 5 + w * 7) % words.length]);
            lines.add(sb.append('.').toString());
        }
        Path f = dir.resolve("corpus.txt");
        Files.write(f, lines);
        return f;
    }

    private String[] indexArgs(Path corpus, Path out) {
        return new String[]{"index", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", corpus.toString(), "--out", out.toString(),
                "--context", "16", "--shard-tokens", "48", "--threads", "1", "--quiet"};
    }

    /** A child JVM running loupe index is killed with SIGKILL once its first shard is complete; rerunning resumes to the same bytes. */
    @Test void killedRunResumesToIdenticalFiles() throws Exception {
        Path corpus = corpus();
        Path whole = dir.resolve("whole"), killed = dir.resolve("killed");
        Cli.Result r = Cli.run(indexArgs(corpus, whole));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("indexed 14 documents"), r.out());

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + System.getProperty("loupe.jvmArgs", "../bin/jvm.args"), "-Xmx512m", "-cp", System.getProperty("java.class.path"), "dev.loupe.cli.Main"));
        cmd.addAll(Arrays.asList(indexArgs(corpus, killed)));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        Path firstShard = killed.resolve(".partial").resolve("shard-00000.json");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(firstShard) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
        boolean wasAlive = child.isAlive();
        child.destroyForcibly();   // SIGKILL on Linux: no shutdown hooks, no finally blocks
        child.waitFor(30, TimeUnit.SECONDS);
        if (!wasAlive) fail("the child index run ended before it could be killed: " + Files.readString(dir.resolve("child.log")));
        assertTrue(Files.exists(firstShard), "first shard marker");
        String runJson = Files.readString(killed.resolve("run.json"));
        assertTrue(runJson.contains("\"complete\" : false"), "the killed run is unfinished");

        Cli.Result resumed = Cli.run(indexArgs(corpus, killed));
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.out().contains("resumed"), resumed.out());
        Map<String, byte[]> a = tree(whole), b = tree(killed);
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertTrue(Arrays.equals(a.get(k), b.get(k)), k + " differs after resuming");
    }

    @Test void featuresPrintsACardAndAList() throws Exception {
        Path corpus = corpus(), run = dir.resolve("run");
        assertEquals(0, Cli.run(indexArgs(corpus, run)).exit());
        Cli.Result list = Cli.run("features", "--run", run.toString(), "--list", "--sort", "density", "--top", "3");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().startsWith("256 features match; sorted by density"), list.out());
        String[] rows = list.out().split("\n");
        assertEquals(5, rows.length, list.out());
        int feature = Integer.parseInt(rows[2].trim().split("\\s+")[0]);
        Cli.Result card = Cli.run("features", "--run", run.toString(), "--feature", String.valueOf(feature));
        assertEquals(0, card.exit(), card.err());
        assertTrue(card.out().startsWith("Feature " + feature + " of sae (" + HOOK), card.out());
        assertTrue(card.out().contains("promotes:") && card.out().contains("top examples:") && card.out().contains("[["), card.out());
        Cli.Result bad = Cli.run("features", "--run", run.toString(), "--feature", "999");
        assertEquals(2, bad.exit());
        assertEquals("loupe features: feature 999 out of range [0, 256)", bad.err().strip());
    }

    @Test void badInputGetsOneLine() throws Exception {
        Cli.Result missing = Cli.run("index", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", dir.resolve("nope.txt").toString(),
                "--out", dir.resolve("o").toString());
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("nope.txt"), missing.err());
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"ok\"}\n[1, 2]\n");
        Cli.Result malformed = Cli.run("index", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", bad.toString(),
                "--out", dir.resolve("o2").toString(), "--quiet");
        assertEquals(2, malformed.exit());
        assertTrue(malformed.err().strip().startsWith("loupe index: ") && malformed.err().contains("bad.jsonl:2"), malformed.err());
        assertEquals(1, malformed.err().strip().lines().count(), malformed.err());
        Cli.Result notARun = Cli.run("features", "--run", dir.toString(), "--list");
        assertEquals(1, notARun.exit(), "no run.json to read: a file problem");
        assertTrue(notARun.err().contains("run.json"), notARun.err());
        assertFalse(notARun.err().contains("Exception"), notARun.err());
    }

    private static Map<String, byte[]> tree(Path root) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) out.put(root.relativize(p).toString(), Files.readAllBytes(p));
        }
        return out;
    }
}
