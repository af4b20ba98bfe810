package dev.loupe.model;

import dev.loupe.hooks.ActivationCache;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.BlockHook;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The forward pass against llama.cpp (F32, precise GELU) and numpy references on tiny-a, a 4-layer Gemma 2
 * with random weights chosen to make every convention (norm +1, softcaps, window parity, RoPE layout,
 * embedding scale, query scale) visible in the logits.
 */
class ForwardConformanceTest {
    static final float TOL = 5e-3f;
    static final Map<String, GemmaModel> MODELS = new HashMap<>();
    static int[] tokens;

    @BeforeAll
    static void load() {
        Path a = Fixtures.tinyA();
        tokens = Fixtures.npy(a.resolve("tokens.npy")).ints();
        for (String src : new String[]{"hf", "hf-bf16", "tiny-a-f32.gguf", "quantized/tiny-a-q8_0.gguf", "quantized/tiny-a-q4_0.gguf"}) {
            MODELS.put(src, GemmaModel.load(a.resolve(src), 2));
        }
    }

    @AfterAll
    static void close() { MODELS.values().forEach(GemmaModel::close); }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "hf-bf16", "tiny-a-f32.gguf"})
    void batchedLogitsResidualsAndEmbeddingMatchLlamaCpp(String src) {
        Path a = Fixtures.tinyA();
        RunResult r = MODELS.get(src).run(tokens, RunOptions.caching("blocks.*.hook_resid_post", "hook_embed", "ln_final.hook_normalized"));
        assertClose(Fixtures.npy(a.resolve("llama_logits.npy")), r.logits(), src + " logits");
        assertSameArgmax(Fixtures.npy(a.resolve("llama_logits.npy")), r.logits(), src);
        assertClose(Fixtures.npy(a.resolve("llama_embed_scaled.npy")), r.cache().get("hook_embed").data(), src + " hook_embed");
        assertClose(Fixtures.npy(a.resolve("llama_result_norm.npy")), r.cache().get("ln_final.hook_normalized").data(), src + " ln_final");
        assertResiduals(Fixtures.npy(a.resolve("llama_l_out.npy")), r.cache(), src);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "hf-bf16", "tiny-a-f32.gguf"})
    void tokenByTokenThroughKvCacheMatchesLlamaCppSequentialRun(String src) {
        Path a = Fixtures.tinyA();
        GemmaModel m = MODELS.get(src);
        ActivationCache cache = new ActivationCache();
        BoundHooks hooks = cache.hooksFor(java.util.List.of("blocks.*.hook_resid_post")).bind(m.hookPoints());
        Session s = m.newSession();
        int vocab = m.config().vocabSize();
        float[] logits = new float[tokens.length * vocab];
        for (int t = 0; t < tokens.length; t++) {
            float[] l = s.process(new int[]{tokens[t]}, hooks, -1, 1);
            System.arraycopy(l, 0, logits, t * vocab, vocab);
        }
        Npy.Array ref = Fixtures.npy(a.resolve("llama_seq_logits.npy"));
        assertClose(ref, logits, src + " sequential logits");
        assertSameArgmax(ref, logits, src + " sequential");
        assertResiduals(Fixtures.npy(a.resolve("llama_seq_l_out.npy")), cache, src + " sequential");
    }

    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0"})
    void quantizedGgufsMatchFloat32ReferencesOnTheirExactWeights(String type) {
        Path q = Fixtures.file("tiny-a/quantized");
        RunResult r = MODELS.get("quantized/tiny-a-" + type + ".gguf").run(tokens, RunOptions.caching("blocks.*.hook_resid_post"));
        Npy.Array ref = Fixtures.npy(q.resolve("numpy_" + type + "_logits.npy"));
        assertClose(ref, r.logits(), type + " logits");
        assertSameArgmax(ref, r.logits(), type);
        assertResiduals(Fixtures.npy(q.resolve("numpy_" + type + "_l_out.npy")), r.cache(), type);
    }

    @Test
    void promptThenGenerationStepsEqualsOneBatchedRun() {
        GemmaModel m = MODELS.get("hf");
        int split = 25;
        Session s = m.newSession();
        BoundHooks none = BoundHooks.none(m.hookPoints());
        s.process(java.util.Arrays.copyOf(tokens, split), none, -1, 1);
        int vocab = m.config().vocabSize();
        Npy.Array ref = Fixtures.npy(Fixtures.file("tiny-a/llama_logits.npy"));
        for (int t = split; t < tokens.length; t++) {
            float[] l = s.process(new int[]{tokens[t]}, none, -1, 1);
            for (int i = 0; i < vocab; i++) assertEquals(ref.data()[t * vocab + i], l[i], TOL, "position " + t + " logit " + i);
        }
    }

    static void assertResiduals(Npy.Array ref, ActivationCache cache, String what) {
        int layers = ref.shape()[0], per = ref.shape()[1] * ref.shape()[2];
        for (int l = 0; l < layers; l++) {
            float[] got = cache.get(BlockHook.RESID_POST.at(l)).data();
            float[] exp = java.util.Arrays.copyOfRange(ref.data(), l * per, (l + 1) * per);
            assertClose(new Npy.Array(new int[]{ref.shape()[1], ref.shape()[2]}, exp, null), got, what + " resid_post " + l);
        }
    }

    static void assertClose(Npy.Array ref, float[] got, String what) {
        assertEquals(ref.data().length, got.length, what + ": size");
        float worst = 0;
        int at = -1;
        for (int i = 0; i < got.length; i++) {
            float d = Math.abs(ref.data()[i] - got[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        float w = worst;
        int i = at;
        assertTrue(w <= TOL, () -> what + ": max abs diff " + w + " at flat index " + i + " (ref " + ref.data()[i] + ", got " + got[i] + ")");
    }

    static void assertSameArgmax(Npy.Array ref, float[] got, String what) {
        int vocab = ref.shape()[1];
        for (int t = 0; t < ref.shape()[0]; t++) {
            assertEquals(argmax(ref.data(), t * vocab, vocab), argmax(got, t * vocab, vocab), what + ": argmax at position " + t);
        }
    }

    static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
        return best;
    }
}
