package dev.loupe.model;

import dev.loupe.model.io.Npy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static dev.loupe.model.ForwardConformanceTest.assertClose;
import static dev.loupe.model.ForwardConformanceTest.assertResiduals;
import static dev.loupe.model.ForwardConformanceTest.assertSameArgmax;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Gemma 1 (tiny-g1a) and Gemma 3 (tiny-g3) against transformers in float64 (the fixtures' manifests): logits and every
 * {@code hook_resid_post} within 5e-3 with identical argmax, in F32 and BF16 folders, and greedy generation equal to
 * transformers' {@code generate}.
 */
class FamilyFixturesTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g1a/hf-bf16", "tiny-g3/hf", "tiny-g3/hf-bf16"})
    void logitsAndResidualsMatchFloat64Transformers(String folder) {
        Path dir = Fixtures.file(folder);
        Path refs = dir.getParent();
        int[] tokens = Fixtures.npy(refs.resolve("tokens.npy")).ints();
        try (Model m = Model.load(dir, 2)) {
            RunResult r = m.run(tokens, RunOptions.caching("blocks.*.hook_resid_post", "hook_embed", "ln_final.hook_normalized"));
            Npy.Array logits = Fixtures.npy(refs.resolve("logits.npy"));
            assertClose(logits, r.logits(), folder + " logits");
            assertSameArgmax(logits, r.logits(), folder);
            assertClose(Fixtures.npy(refs.resolve("embed_scaled.npy")), r.cache().get("hook_embed").data(), folder + " hook_embed");
            assertClose(Fixtures.npy(refs.resolve("final_norm.npy")), r.cache().get("ln_final.hook_normalized").data(), folder + " ln_final");
            assertResiduals(Fixtures.npy(refs.resolve("resid_post.npy")), r.cache(), folder);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g1a/hf-bf16", "tiny-g3/hf", "tiny-g3/hf-bf16"})
    void greedyGenerationMatchesTransformersGenerate(String folder) {
        Path dir = Fixtures.file(folder);
        int[] prompt = Fixtures.npy(dir.getParent().resolve("gen_prompt.npy")).ints();
        int[] expected = Fixtures.npy(dir.getParent().resolve("gen_ids.npy")).ints();
        try (Model m = Model.load(dir, 2)) {
            // transformers' generate ran with min_new_tokens = 16: no eos stop in between.
            GenerationResult g = m.generate(prompt, Generation.greedy(expected.length).withStops(java.util.Set.of()), dev.loupe.hooks.HookSet.empty(), null);
            assertArrayEquals(expected, g.generated(), folder + " greedy ids");
        }
    }

    /**
     * Gemma 3's extra hook points: {@code attn.hook_q_normed}/{@code hook_k_normed} hold each head of {@code hook_q}/
     * {@code hook_k} RMS-normed with {@code 1 + q_norm} (computed here in double from the checkpoint's q_norm); Gemma 1
     * has no such points.
     */
    @org.junit.jupiter.api.Test
    void qkNormedHookPointsExistOnlyWithQkNorm() throws java.io.IOException {
        int[] tokens = Fixtures.npy(Fixtures.file("tiny-g3/tokens.npy")).ints();
        try (Model g3 = Model.load(Fixtures.file("tiny-g3/hf"), 1);
             var st = dev.loupe.model.weights.SafetensorsFile.open(Fixtures.file("tiny-g3/hf/model.safetensors"))) {
            RunResult r = g3.run(tokens, RunOptions.caching("blocks.2.attn.hook_q", "blocks.2.attn.hook_q_normed", "blocks.2.attn.hook_k_normed"));
            float[] q = r.cache().get("blocks.2.attn.hook_q").data(), qn = r.cache().get("blocks.2.attn.hook_q_normed").data();
            float[] w = st.tensor("model.layers.2.self_attn.q_norm.weight").toFloatArray();
            int hd = g3.config().headDim();
            assertArrayEquals(new int[]{tokens.length, g3.config().kvDim()}, r.cache().get("blocks.2.attn.hook_k_normed").shape());
            for (int row = 0; row < q.length / hd; row++) {
                double ss = 0;
                for (int i = 0; i < hd; i++) ss += (double) q[row * hd + i] * q[row * hd + i];
                double inv = 1 / Math.sqrt(ss / hd + 1e-6);
                for (int i = 0; i < hd; i++) {
                    org.junit.jupiter.api.Assertions.assertEquals(q[row * hd + i] * inv * (1 + w[i]), qn[row * hd + i], 1e-4, "head row " + row);
                }
            }
        }
        try (Model g1 = Model.load(Fixtures.file("tiny-g1a/hf"), 1)) {
            org.junit.jupiter.api.Assertions.assertFalse(g1.hookPoints().contains("blocks.0.attn.hook_q_normed"));
        }
    }
}
