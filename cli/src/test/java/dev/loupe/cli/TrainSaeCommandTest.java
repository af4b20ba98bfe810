package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeArchitecture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** train-sae on tiny-a: a run that loads back, a run killed with SIGKILL and resumed, and bad input. */
class TrainSaeCommandTest {
    static final String HOOK = "blocks.2.hook_resid_post";
    @TempDir Path dir;

    static String gguf() { return Fixtures.tinyA().resolve("tiny-a-f32.gguf").toString(); }

    Path corpus(int copies) throws Exception {
        List<String> lines = new ArrayList<>();
        String[] base = {"The capital of France is Paris, on the Seine.", "Mount Everest rises 8849 meters above the sea.",
                "Rivers carry water and silt from mountains to the ocean.", "The population grew to 67 million by 2020."};
        for (int i = 0; i < copies; i++) for (String b : base) lines.add(b + " Item " + i + ".");
        Path p = dir.resolve("corpus-" + copies + ".txt");
        Files.write(p, lines);
        return p;
    }

    /** A small topk run; {@code changes} are option/value pairs that replace or extend the defaults. */
    String[] args(Path corpus, Path out, String... changes) {
        List<String> a = new ArrayList<>(List.of("train-sae", "--model", gguf(), "--hook", HOOK, "--corpus", corpus.toString(),
                "--arch", "topk", "--width", "64", "--k", "4", "--tokens", "6000", "--batch-size", "100", "--out", out.toString(),
                "--eval-tokens", "128"));
        for (int j = 0; j < changes.length; j += 2) {
            int at = a.indexOf(changes[j]);
            if (at < 0) {
                a.add(changes[j]);
                a.add(changes[j + 1]);
            } else {
                a.set(at + 1, changes[j + 1]);
            }
        }
        return a.toArray(String[]::new);
    }

    @Test void trainsAnSaeThatLoupeLoads() throws Exception {
        Path out = dir.resolve("sae");
        Cli.Result r = Cli.run(args(corpus(200), out));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("explained_variance") && r.out().contains("ce_loss_score"), r.out());
        for (String f : List.of("cfg.json", "sae_weights.safetensors", "sparsity.safetensors", "metrics.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertFalse(Files.exists(out.resolve("checkpoint.safetensors")), "the checkpoint is removed once the run is done");
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(60, metrics.size(), "one line per step of 100 tokens");
        assertTrue(new ObjectMapper().readTree(metrics.getLast()).has("explained_variance"));
        try (Sae sae = Sae.load(out)) {
            assertEquals(SaeArchitecture.TOPK, sae.architecture());
            assertEquals(HOOK, sae.hookName());
            assertEquals(64, sae.dSae());
        }
        Cli.Result again = Cli.run(args(corpus(200), out));
        assertEquals(2, again.exit());
        assertTrue(again.err().contains("already holds a finished train-sae run"), again.err());
    }

    @Test void cachedActivationsTrainTheSameSae() throws Exception {
        Path corpus = corpus(200), cache = dir.resolve("acts.arrow");
        Cli.Result recorded = Cli.run(args(corpus, dir.resolve("a"), "--arch", "batchtopk", "--cache-activations", cache.toString()));
        assertEquals(0, recorded.exit(), recorded.err());
        assertTrue(recorded.err().contains("cached ") && Files.isRegularFile(cache), recorded.err());
        Cli.Result replayed = Cli.run(args(corpus, dir.resolve("b"), "--arch", "batchtopk", "--cache-activations", cache.toString()));
        assertEquals(0, replayed.exit(), replayed.err());
        assertTrue(Arrays.equals(Files.readAllBytes(dir.resolve("a").resolve("sae_weights.safetensors")),
                Files.readAllBytes(dir.resolve("b").resolve("sae_weights.safetensors"))), "the same activations in the same order train the same SAE");
        try (Sae sae = Sae.load(dir.resolve("b"))) {
            assertEquals(SaeArchitecture.JUMPRELU, sae.architecture(), "batchtopk is written as JumpReLU with its running threshold");
        }
        Cli.Result wrongHook = Cli.run(args(corpus, dir.resolve("c"), "--hook", "blocks.1.hook_resid_post", "--cache-activations", cache.toString()));
        assertEquals(2, wrongHook.exit());
        assertTrue(wrongHook.err().contains("holds activations of blocks.2.hook_resid_post"), wrongHook.err());
    }

    @Test void resumesAfterKill9() throws Exception {
        Path corpus = corpus(400), out = dir.resolve("killed");
        String[] a = args(corpus, out, "--tokens", "15000", "--checkpoint-tokens", "1000");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Xmx512m", "-cp", System.getProperty("java.class.path"), "dev.loupe.cli.Main"));
        cmd.addAll(Arrays.asList(a));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        Path checkpoint = out.resolve("checkpoint.safetensors");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(checkpoint) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
        Thread.sleep(300);  // likely mid-step, or mid-way through writing the next checkpoint
        boolean wasAlive = child.isAlive();
        child.destroyForcibly();  // SIGKILL: no shutdown hooks, no finally blocks
        child.waitFor(30, TimeUnit.SECONDS);
        if (!wasAlive) fail("the child run ended before it could be killed: " + Files.readString(dir.resolve("child.log")));
        assertTrue(Files.exists(checkpoint), "a checkpoint was written before the kill");

        Cli.Result resumed = Cli.run(a);
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.out().contains("resumed from a checkpoint"), resumed.out());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(i + 1, json.readTree(lines.get(i)).path("step").asLong(), "metrics.jsonl holds each step once, in order");
        }
        assertEquals(150, lines.size());
        try (Sae sae = Sae.load(out)) {
            assertEquals(64, sae.dSae());
        }
    }

    @Test void badInputGetsOneLine() throws Exception {
        Path corpus = corpus(200);
        Files.createDirectories(dir.resolve("busy"));
        Files.writeString(dir.resolve("busy").resolve("notes.txt"), "mine");
        String[][] cases = {
                {"--hook", "blocks.9.hook_resid_post"},
                {"--width", "0"},
                {"--arch", "jumprelu", "--l0", "64"},
                {"--tokens", "10000000"},
                {"--out", dir.resolve("busy").toString()},
        };
        String[] expected = {"--hook blocks.9.hook_resid_post", "--width must be at least 1", "--l0 64.0 cannot be reached by 64 features",
                "fewer than --tokens 10000000", "holds other files (notes.txt)"};
        for (int i = 0; i < cases.length; i++) {
            Cli.Result r = Cli.run(args(corpus, dir.resolve("out" + i), cases[i]));
            assertEquals(2, r.exit(), String.join(" ", cases[i]) + ": " + r.err());
            String err = r.err().strip();
            assertEquals(1, err.lines().count(), "one line: " + err);
            assertTrue(err.startsWith("loupe train-sae: ") && err.contains(expected[i]), err);
            assertFalse(err.contains("Exception"), err);
        }
    }
}
