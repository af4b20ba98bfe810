package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code loupe grad} and {@code loupe attribute} on tiny-a in every format (HF F32 and BF16, GGUF F32): the files
 * they write against the float64 autograd references of {@code tiny-a/grad}, and one line for each kind of bad input.
 */
class GradCommandTest {
    static final String HOOK = "blocks.2.hook_resid_post";
    static final Path GRAD = Fixtures.tinyA().resolve("grad");

    static String ids() {
        return Arrays.stream(Fixtures.npy(GRAD.resolve("tokens.npy")).ints()).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    static String model(String src) { return Fixtures.tinyA().resolve(src).toString(); }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "hf-bf16", "tiny-a-f32.gguf"})
    void gradWritesHookGradientsMetricAndWeightGradients(String src, @TempDir Path out) throws Exception {
        Cli.Result r = Cli.run("grad", "--model", model(src), "--token-ids", ids(), "--metric", "logit-diff",
                "--hooks", "blocks.*.hook_resid_post,hook_embed", "--out", out.toString(), "--params", "--threads", "2");
        assertEquals(0, r.exit(), r.err());
        JsonNode metric = new ObjectMapper().readTree(out.resolve("metric.json").toFile());
        assertEquals(104, metric.get("target").asInt(), "--target defaults to the argmax");
        assertEquals(178, metric.get("baseline").asInt(), "--baseline defaults to the runner-up");
        assertEquals(39, metric.get("position").asInt());
        assertEquals(1.9833147071576391, metric.get("value").asDouble(), 2e-4);
        for (String hook : new String[]{"hook_embed", "blocks.0.hook_resid_post", "blocks.3.hook_resid_post"}) {
            assertClose(Fixtures.npy(GRAD.resolve("logit_diff/" + hook + ".npy")), Npy.read(out.resolve(hook + ".npy")), src + " " + hook);
        }
        String embed = src.endsWith(".gguf") ? "token_embd.weight" : "model.embed_tokens.weight";
        String norm = src.endsWith(".gguf") ? "blk.1.ffn_norm.weight" : "model.layers.1.pre_feedforward_layernorm.weight";
        assertTrue(Files.isRegularFile(out.resolve("params/" + embed + ".npy")), embed);
        assertArrayEquals(new int[]{64}, Npy.read(out.resolve("params/" + norm + ".npy")).shape(), norm);
        try (var files = Files.list(out.resolve("params"))) { assertEquals(46, files.count(), "one file per weight tensor"); }
    }

    @Test
    void gradOfTheLossWithExplicitTokensAndLinearizedMode(@TempDir Path out) throws Exception {
        Cli.Result r = Cli.run("grad", "--model", model("hf"), "--token-ids", ids(), "--metric", "loss", "--hooks", "blocks.*.hook_resid_post",
                "--out", out.resolve("loss").toString());
        assertEquals(0, r.exit(), r.err());
        assertClose(Fixtures.npy(GRAD.resolve("loss/blocks.1.hook_resid_post.npy")), Npy.read(out.resolve("loss/blocks.1.hook_resid_post.npy")), "loss");
        Cli.Result lin = Cli.run("grad", "--model", model("hf"), "--token-ids", ids(), "--target", "104", "--baseline", "178",
                "--hooks", "blocks.*.hook_resid_post", "--linearized", "--out", out.resolve("lin").toString());
        assertEquals(0, lin.exit(), lin.err());
        assertClose(Fixtures.npy(GRAD.resolve("linearized/blocks.2.hook_resid_post.npy")), Npy.read(out.resolve("lin/blocks.2.hook_resid_post.npy")), "linearized");
    }

    @Test
    void gradTakesAPromptOnAModelWithATokenizer(@TempDir Path out) throws Exception {
        Cli.Result r = Cli.run("grad", "--model", model("tiny-a-f32.gguf"), "--prompt", "hello world", "--metric", "logprob",
                "--hooks", "ln_final.hook_normalized", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("ln_final.hook_normalized.npy")));
        assertTrue(new ObjectMapper().readTree(out.resolve("metric.json").toFile()).get("value").asDouble() < 0, "a log-probability");
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "hf-bf16", "tiny-a-f32.gguf"})
    void attributeWritesFeatureAndErrorAttributions(String src, @TempDir Path out) throws Exception {
        Cli.Result r = Cli.run("attribute", "--model", model(src), "--sae", Fixtures.tinyA().resolve("sae").toString(), "--hook", HOOK,
                "--token-ids", ids(), "--metric", "logit-diff", "--out", out.toString(), "--top", "5");
        assertEquals(0, r.exit(), r.err());
        assertClose(Fixtures.npy(GRAD.resolve("sae_attr/attribution.npy")), Npy.read(out.resolve("features.npy")), src + " features");
        assertClose(Fixtures.npy(GRAD.resolve("sae_attr/error_attribution.npy")), Npy.read(out.resolve("error_attribution.npy")), src + " error");
        assertTrue(r.out().contains("attribution"), r.out());
        assertEquals(5, r.out().lines().filter(l -> l.matches("\\s+\\d+\\s+\\d+\\s+-?[0-9.]+\\s+-?[0-9.]+\\s+.*")).count(), r.out());
    }

    @Test
    void badInputGetsOneLine(@TempDir Path out) {
        String o = out.toString();
        assertOneLine("--target: token 384 is outside the vocabulary [0, 384)",
                Cli.run("grad", "--model", model("hf"), "--token-ids", "2,5,7", "--target", "384", "--hooks", "hook_embed", "--out", o));
        assertOneLine("--baseline: token 1000 is outside the vocabulary [0, 384)",
                Cli.run("attribute", "--model", model("hf"), "--sae", Fixtures.tinyA().resolve("sae").toString(), "--hook", HOOK,
                        "--token-ids", "2,5,7", "--baseline", "1000", "--out", o));
        assertOneLine("--position: 3 is outside the prompt (0..2)",
                Cli.run("grad", "--model", model("hf"), "--token-ids", "2,5,7", "--position", "3", "--hooks", "hook_embed", "--out", o));
        assertOneLine("--hooks: unknown hook point 'blocks.*.hook_nothing'",
                Cli.run("grad", "--model", model("hf"), "--token-ids", "2,5,7", "--hooks", "blocks.*.hook_nothing", "--out", o));
        assertOneLine("--metric loss takes no --target",
                Cli.run("grad", "--model", model("hf"), "--token-ids", "2,5,7", "--metric", "loss", "--target", "3", "--hooks", "hook_embed", "--out", o));
        assertOneLine("give either --token-ids or --prompt",
                Cli.run("grad", "--model", model("hf"), "--hooks", "hook_embed", "--out", o));
    }

    static void assertOneLine(String expected, Cli.Result r) {
        assertNotEquals(0, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
    }

    static void assertClose(Npy.Array ref, Npy.Array got, String what) {
        assertArrayEquals(ref.shape(), got.shape(), what);
        double max = 0, diff = 0;
        for (int i = 0; i < ref.size(); i++) {
            max = Math.max(max, Math.abs(ref.data()[i]));
            diff = Math.max(diff, Math.abs(ref.data()[i] - got.data()[i]));
        }
        assertTrue(diff <= 3e-4 * max, what + ": " + diff + " of " + max);
    }
}
