package dev.loupe.spark;

import dev.loupe.analysis.IndexOptions;
import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input gives one line on the driver, a non-zero exit, and nothing half-written under a final name. */
class BadInputTest {
    @TempDir Path tmp;

    @Test void unreachableMaster() throws Exception {
        Path corpus = SparkRuns.corpus(tmp, 4, 1);
        Path out = tmp.resolve("out");
        String master = "spark://127.0.0.1:" + SparkRuns.freePort();
        Process p = SparkRuns.driver(tmp, tmp, List.of(), SparkRuns.args(master, 2, corpus, out, 64));
        assertNotEquals(0, SparkRuns.await(p, tmp, 60));
        List<String> lines = SparkRuns.errorLines(tmp);
        assertEquals(1, lines.size(), "one line: " + lines);
        assertTrue(lines.getFirst().startsWith("loupe-spark: --master " + master + ": no master answers"), lines.getFirst());
        assertFalse(Files.exists(out), "nothing written");
    }

    /**
     * The model path is relative: the driver (started in the fixture's folder) finds it, the executors (started in
     * their own work folders) do not, as on a cluster where a node lacks the file.
     */
    @Test void modelMissingOnTheExecutors() throws Exception {
        Path corpus = SparkRuns.corpus(tmp, 4, 1);
        Path out = tmp.resolve("out");
        List<String> args = new ArrayList<>(SparkRuns.args("local-cluster[1,1,1024]", 2, corpus, out, 64));
        args.set(args.indexOf("--model") + 1, SparkRuns.gguf().getFileName().toString());
        Process p = SparkRuns.driver(Fixtures.tinyA(), tmp, List.of(), args);
        assertNotEquals(0, SparkRuns.await(p, tmp, 240));
        List<String> lines = SparkRuns.errorLines(tmp);
        assertEquals(1, lines.size(), "one line: " + lines);
        assertTrue(lines.getFirst().matches("loupe-spark: executor on .*: .*tiny-a-f32\\.gguf.* \\(every node needs the model, SAEs, corpus and --out at the same path\\)"), lines.getFirst());
        assertFalse(Files.exists(out), "a run that committed nothing leaves no folder behind");
    }

    @Test void outputHoldsADifferentRun() throws Exception {
        Path corpus = SparkRuns.corpus(tmp, 4, 1);
        Path out = tmp.resolve("out");
        IndexOptions other = SparkRuns.options(64).withContext(8);
        SparkRuns.oneMachine(corpus, out, other);
        Map<String, String> before = SparkRuns.snapshot(out);
        Process p = SparkRuns.driver(tmp, tmp, List.of(), SparkRuns.args("local[1]", 2, corpus, out, 64));
        assertNotEquals(0, SparkRuns.await(p, tmp, 120));
        List<String> lines = SparkRuns.errorLines(tmp);
        assertEquals(1, lines.size(), "one line: " + lines);
        assertTrue(lines.getFirst().contains("holds a different corpus run (options.context: 8, this run: 16)"), lines.getFirst());
        assertEquals(before, SparkRuns.snapshot(out), "the other run is left as it was");
    }
}
