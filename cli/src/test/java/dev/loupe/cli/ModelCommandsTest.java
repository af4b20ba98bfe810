package dev.loupe.cli;

import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** run / generate / bench through the CLI on the tiny-a fixture. */
class ModelCommandsTest {
    @TempDir Path dir;

    static String tokenCsv() {
        return Arrays.stream(Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints()).mapToObj(String::valueOf).collect(Collectors.joining(","));
    }

    @Test
    void runWritesLogitsAndCachedHooksThatMatchLlamaCpp() throws Exception {
        Path gguf = Fixtures.file("tiny-a/tiny-a-f32.gguf");
        Cli.Result r = Cli.run("run", "--model", gguf.toString(), "--token-ids", tokenCsv(), "--logits", dir.resolve("logits.npy").toString(),
                "--cache", "blocks.*.hook_resid_post", "--cache", "blocks.0.attn.hook_pattern", "--cache-dir", dir.resolve("c").toString());
        assertEquals(0, r.exit(), r.err());
        Npy.Array logits = Npy.read(dir.resolve("logits.npy"));
        Npy.Array ref = Fixtures.npy(Fixtures.file("tiny-a/llama_logits.npy"));
        assertArrayEquals(ref.shape(), logits.shape());
        for (int i = 0; i < ref.size(); i++) assertEquals(ref.data()[i], logits.data()[i], 5e-3f);
        Npy.Array l3 = Npy.read(dir.resolve("c/blocks.3.hook_resid_post.npy"));
        assertArrayEquals(new int[]{40, 64}, l3.shape());
        Npy.Array lout = Fixtures.npy(Fixtures.file("tiny-a/llama_l_out.npy"));
        for (int i = 0; i < 40 * 64; i++) assertEquals(lout.data()[3 * 40 * 64 + i], l3.data()[i], 5e-3f);
        assertArrayEquals(new int[]{4, 40, 40}, Npy.read(dir.resolve("c/blocks.0.attn.hook_pattern.npy")).shape());
    }

    @Test
    void runCanStopAfterALayer() throws Exception {
        Cli.Result r = Cli.run("run", "--model", Fixtures.file("tiny-a/hf").toString(), "--token-ids", tokenCsv(),
                "--cache", "blocks.1.hook_resid_post", "--stop-after", "1", "--cache-dir", dir.toString());
        assertEquals(0, r.exit(), r.err());
        Npy.Array l1 = Npy.read(dir.resolve("blocks.1.hook_resid_post.npy"));
        Npy.Array lout = Fixtures.npy(Fixtures.file("tiny-a/llama_l_out.npy"));
        for (int i = 0; i < 40 * 64; i++) assertEquals(lout.data()[40 * 64 + i], l1.data()[i], 5e-3f);
        Cli.Result late = Cli.run("run", "--model", Fixtures.file("tiny-a/hf").toString(), "--token-ids", "2,3",
                "--cache", "blocks.3.hook_resid_post", "--stop-after", "1", "--cache-dir", dir.toString());
        assertEquals(2, late.exit(), "a hook after the stop would never fire: refused before compute");
        assertTrue(late.err().contains("blocks.3.hook_resid_post"), late.err());
        assertFalse(late.out().contains("blocks.3"));
    }

    @Test
    void badInputGivesOneLineErrors() {
        Path hf = Fixtures.file("tiny-a/hf");
        Cli.Result unknown = Cli.run("run", "--model", hf.toString(), "--token-ids", "2,5", "--cache", "blocks.1.hook_resid_pots");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("closest valid names: blocks.1.hook_resid_post"), unknown.err());
        assertEquals(1, unknown.err().strip().lines().count(), unknown.err());
        Cli.Result range = Cli.run("run", "--model", hf.toString(), "--token-ids", "2,999");
        assertEquals(2, range.exit());
        assertTrue(range.err().contains("token id 999"), range.err());
        Cli.Result missing = Cli.run("run", "--model", dir.resolve("nope").toString(), "--token-ids", "2");
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
    }

    @Test
    void generateOnTheGgufProducesTextGreedilyAndReproduciblyWithASeed() {
        String gguf = Fixtures.file("tiny-a/tiny-a-f32.gguf").toString();
        Cli.Result greedy1 = Cli.run("generate", "--model", gguf, "--prompt", "hello world", "--max-tokens", "12");
        Cli.Result greedy2 = Cli.run("generate", "--model", gguf, "--prompt", "hello world", "--max-tokens", "12");
        assertEquals(0, greedy1.exit(), greedy1.err());
        assertTrue(greedy1.out().startsWith("hello world"));
        assertTrue(greedy1.out().strip().length() > "hello world".length(), greedy1.out());
        assertEquals(greedy1.out(), greedy2.out());
        String[] sampled = {"--model", gguf, "--prompt", "hello world", "--max-tokens", "12", "--temperature", "0.9", "--top-k", "50", "--top-p", "0.95", "--seed", "11"};
        String[] args = new String[sampled.length + 1];
        args[0] = "generate";
        System.arraycopy(sampled, 0, args, 1, sampled.length);
        Cli.Result s1 = Cli.run(args), s2 = Cli.run(args);
        assertEquals(0, s1.exit(), s1.err());
        assertEquals(s1.out(), s2.out());
        args[args.length - 1] = "12";
        assertNotEquals(s1.out(), Cli.run(args).out(), "another seed should give another continuation");
    }

    @Test
    void generateWithADraftModelPrintsTheTargetsGreedyText() {
        String gguf = Fixtures.file("tiny-a/tiny-a-f32.gguf").toString();
        String draft = Fixtures.file("tiny-a/quantized/tiny-a-q4_0.gguf").toString();
        Cli.Result plain = Cli.run("generate", "--model", gguf, "--prompt", "hello world", "--max-tokens", "12");
        Cli.Result assisted = Cli.run("generate", "--model", gguf, "--prompt", "hello world", "--max-tokens", "12",
                "--draft-model", draft, "--draft-tokens", "3");
        assertEquals(0, assisted.exit(), assisted.err());
        assertEquals(plain.out(), assisted.out());
        assertTrue(assisted.err().contains("drafted tokens kept"), assisted.err());
    }

    @Test
    void benchReportsThroughputAsJson() throws Exception {
        Cli.Result r = Cli.run("bench", "--model", Fixtures.file("tiny-a/hf").toString(), "--prompt-tokens", "16", "--gen-tokens", "4",
                "--repetitions", "1", "--json");
        assertEquals(0, r.exit(), r.err());
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        JsonKeys.assertSnakeCase(node);
        assertTrue(node.get("prompt_tokens_per_s").asDouble() > 0);
        assertTrue(node.get("gen_tokens_per_s").asDouble() > 0);
        assertTrue(node.get("peak_rss_mb").asLong() > 0);
    }
}
