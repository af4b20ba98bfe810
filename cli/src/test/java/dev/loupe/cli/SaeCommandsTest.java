package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** encode / trace / steer / eval-sae / synth-sae on tiny-a and its SAE fixture. */
class SaeCommandsTest {
    private static final String HOOK = "blocks.2.hook_resid_post";
    @TempDir Path dir;

    private static String sae() { return Fixtures.file("tiny-a/sae").toString(); }

    private static String gguf() { return Fixtures.file("tiny-a/tiny-a-f32.gguf").toString(); }

    @Test void encodeWritesWhatTheFixtureHolds() throws Exception {
        Path out = dir.resolve("enc");
        Cli.Result r = Cli.run("encode", "--model", Fixtures.file("tiny-a/hf").toString(), "--sae", sae(), "--hook", HOOK,
                "--token-ids", ModelCommandsTest.tokenCsv(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("mean L0 21.3"), r.out());
        Path ref = Fixtures.file("tiny-a/sae");
        Npy.Array acts = Npy.read(out.resolve("feature_acts.npy")), refActs = Npy.read(ref.resolve("feature_acts.npy"));
        assertArrayEquals(new int[]{40, 256}, acts.shape());
        for (int i = 0; i < acts.size(); i++) {
            assertEquals(refActs.data()[i] > 0, acts.data()[i] > 0, "active set at " + i);
            assertEquals(refActs.data()[i], acts.data()[i], 5e-3f);
        }
        Npy.Array recon = Npy.read(out.resolve("reconstruction.npy"));
        assertArrayEquals(new int[]{40, 64}, recon.shape());
        assertArrayEquals(Npy.read(ref.resolve("reconstruction.npy")).data(), recon.data(), 5e-3f);
        Npy.Array l0 = Npy.read(out.resolve("l0.npy"));
        assertArrayEquals(Npy.read(ref.resolve("l0.npy")).ints(), l0.ints());
        assertTrue(Files.readString(out.resolve("l0.npy"), java.nio.charset.StandardCharsets.ISO_8859_1).contains("'<i4'"));
    }

    @Test void traceTableAndJson() throws Exception {
        Cli.Result table = Cli.run("trace", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--prompt", "hello world", "--top", "3");
        assertEquals(0, table.exit(), table.err());
        String[] lines = table.out().strip().split("\n");
        assertTrue(lines[0].contains("top features"), table.out());
        assertTrue(lines[1].contains("<bos>"), table.out());
        Cli.Result json = Cli.run("trace", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--prompt", "hello world", "--top", "3", "--json");
        assertEquals(0, json.exit(), json.err());
        JsonNode root = new ObjectMapper().readTree(json.out());
        JsonKeys.assertSnakeCase(root);
        assertEquals(HOOK, root.get("hook").asText());
        assertEquals(lines.length - 1, root.get("tokens").size());
        JsonNode first = root.get("tokens").get(0);
        assertEquals(2, first.get("id").asInt());
        assertTrue(first.get("features").size() <= 3);
        double a0 = first.get("features").get(0).get("activation").asDouble(), a1 = first.get("features").get(1).get("activation").asDouble();
        assertTrue(a0 >= a1);
    }

    @Test void steerShowsBothContinuations() {
        for (String mode : new String[]{"add", "clamp", "orthogonal", "projection_cap"}) {
            Cli.Result r = Cli.run("steer", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--feature", "7", "--feature", "9",
                    "--strength", "30", "--mode", mode, "--prompt", "hello world", "--max-tokens", "8", "--strength-multiplier", "0.5",
                    "--no-steer-special-tokens");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("unsteered") && r.out().contains("steered (" + mode + " 7"), r.out());
            assertTrue(r.out().contains("15.00"), "the multiplier scales the strength: " + r.out());
        }
        Cli.Result ablate = Cli.run("steer", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--feature", "7",
                "--mode", "ablate", "--prompt", "hello world", "--max-tokens", "8");
        assertEquals(0, ablate.exit(), ablate.err());
        assertTrue(ablate.out().contains("steered (ablate 7 = 0"), ablate.out());
        for (String[] args : new String[][]{{"--mode", "ablate", "--strength", "3"}, {"--mode", "clamp"}, {"--mode", "clamp", "--strength", "1", "--normalize"}}) {
            List<String> argv = new java.util.ArrayList<>(List.of("steer", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--feature", "7", "--prompt", "x"));
            argv.addAll(List.of(args));
            Cli.Result r = Cli.run(argv.toArray(String[]::new));
            assertEquals(2, r.exit(), String.join(" ", args) + ": " + r.out());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        Cli.Result bad = Cli.run("steer", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--feature", "7", "--feature", "9",
                "--strength", "1", "--strength", "2", "--strength", "3", "--prompt", "x");
        assertEquals(2, bad.exit());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
    }

    @Test void evalSaeReportsSaeLensMetrics() throws Exception {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "hello world, the cat sat on the mat\n\nthe quick brown fox jumps over the lazy dog\n");
        Cli.Result r = Cli.run("eval-sae", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", corpus.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonKeys.assertSnakeCase(j);
        for (String k : new String[]{"l0", "mse", "explained_variance", "fvu", "ce_loss_without_sae", "ce_loss_with_sae",
                "ce_loss_with_ablation", "ce_loss_score", "kl_div_with_sae", "kl_div_with_ablation", "kl_div_score"}) {
            assertTrue(j.has(k) && j.get(k).isNumber(), k + " in " + r.out());
        }
        assertEquals(2, j.get("documents").asInt());
        assertEquals(1.0, j.get("fvu").asDouble() + j.get("explained_variance").asDouble(), 1e-9);
    }

    @Test void benchSaeReportsThroughputWithSnakeCaseKeys() throws Exception {
        Cli.Result r = Cli.run("bench-sae", "--sae", sae(), "--tokens", "32", "--batch", "16", "--repeats", "1", "--threads", "1", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonKeys.assertSnakeCase(j);
        assertEquals(List.of("sae", "d_in", "d_sae", "tokens", "batch", "backend", "threads", "encode_tokens_per_s",
                "decode_tokens_per_s", "mean_l0", "encode_gflops"), JsonKeys.names(j));
        assertEquals(64, j.get("d_in").asInt());
        assertEquals(256, j.get("d_sae").asInt());
        assertTrue(j.get("encode_tokens_per_s").asDouble() > 0 && j.get("decode_tokens_per_s").asDouble() > 0, r.out());
    }

    @Test void synthSaeWritesALoadableArchive() throws Exception {
        Path out = dir.resolve("synth");
        Cli.Result r = Cli.run("synth-sae", "--d-model", "64", "--width", "512", "--out", out.toString(), "--l0", "30");
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("params.npz")));
        assertFalse(Files.exists(out.resolve("params.npz.partial")));
        Path tokens = dir.resolve("t");
        Cli.Result enc = Cli.run("encode", "--model", Fixtures.file("tiny-a/hf").toString(), "--sae", out.toString(), "--hook", HOOK,
                "--token-ids", "2,5,9", "--out", tokens.toString());
        assertEquals(0, enc.exit(), enc.err());
        assertArrayEquals(new int[]{3, 512}, Npy.read(tokens.resolve("feature_acts.npy")).shape());
    }

    @Test void synthSaeFitsAnSaeToAModelOnACorpus() throws Exception {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "the cat sat on the mat\n\nthe dog sat on the hat\na big red cat ran to the red mat\n"
                + "the hat on the big dog is red\n");
        Path out = dir.resolve("scope").resolve("layer_2").resolve("width_32").resolve("average_l0_4");
        Cli.Result r = Cli.run("synth-sae", "--fit-model", gguf(), "--fit-corpus", corpus.toString(), "--width", "32", "--l0", "4",
                "--seed", "3", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("fitted at " + HOOK), r.out());
        Cli.Result eval = Cli.run("eval-sae", "--model", gguf(), "--sae", out.toString(), "--corpus", corpus.toString(), "--json");
        assertEquals(0, eval.exit(), eval.err());
        JsonNode j = new ObjectMapper().readTree(eval.out());
        assertEquals(HOOK, j.get("hook").asText());
        assertEquals(4, j.get("l0").asDouble(), 0.5);
        assertTrue(j.get("fvu").asDouble() < 1, eval.out());

        Cli.Result noCorpus = Cli.run("synth-sae", "--fit-model", gguf(), "--width", "32", "--out", out.toString());
        assertEquals(2, noCorpus.exit());
        assertTrue(noCorpus.err().contains("--fit-corpus"), noCorpus.err());
        Cli.Result noLayer = Cli.run("synth-sae", "--fit-model", gguf(), "--fit-corpus", corpus.toString(), "--width", "32", "--l0", "4",
                "--out", dir.resolve("plain").toString());
        assertEquals(2, noLayer.exit());
        assertTrue(noLayer.err().contains("give --hook"), noLayer.err());
        Cli.Result tooWide = Cli.run("synth-sae", "--fit-model", gguf(), "--fit-corpus", corpus.toString(), "--width", "4096", "--l0", "4",
                "--out", out.toString());
        assertEquals(2, tooWide.exit());
        assertTrue(tooWide.err().contains("use a larger corpus or a smaller width"), tooWide.err());
        for (Cli.Result e : List.of(noCorpus, noLayer, tooWide)) assertEquals(1, e.err().strip().lines().count(), e.err());
        Cli.Result noWidth = Cli.run("synth-sae", "--width", "32", "--out", out.toString());
        assertEquals(2, noWidth.exit());
        assertTrue(noWidth.err().contains("--d-model"), noWidth.err());
    }

    @Test void mismatchesAreOneLineErrors() throws Exception {
        Path small = dir.resolve("small");
        assertEquals(0, Cli.run("synth-sae", "--d-model", "32", "--width", "64", "--l0", "5", "--out", small.toString()).exit());
        Cli.Result width = Cli.run("encode", "--model", Fixtures.file("tiny-a/hf").toString(), "--sae", small.toString(),
                "--hook", HOOK, "--token-ids", "2,5", "--out", dir.resolve("x").toString());
        assertEquals(2, width.exit());
        assertTrue(width.err().contains("32") && width.err().contains("64 wide"), width.err());
        assertEquals(1, width.err().strip().lines().count(), width.err());

        Cli.Result hook = Cli.run("encode", "--model", Fixtures.file("tiny-a/hf").toString(), "--sae", sae(),
                "--hook", "blocks.2.hook_resid_pots", "--token-ids", "2,5", "--out", dir.resolve("y").toString());
        assertEquals(2, hook.exit());
        assertTrue(hook.err().contains("closest valid names: blocks.2.hook_resid_post"), hook.err());

        Cli.Result noHook = Cli.run("encode", "--model", Fixtures.file("tiny-a/hf").toString(), "--sae", sae(),
                "--token-ids", "2,5", "--out", dir.resolve("z").toString());
        assertEquals(2, noHook.exit());
        assertTrue(noHook.err().contains("hook point is unknown"), noHook.err());
        assertEquals(1, noHook.err().strip().lines().count(), noHook.err());
    }
}
