package dev.loupe.model.grad;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The backward pass on the other family members (no autograd references for them): Gemma 1 (no sandwich norms, no
 * softcaps) and Gemma 3 (QK-norm, two RoPE bases), checked by central differences of the float32 forward pass along a
 * random direction at hook points on both sides of every operation that differs from Gemma 2; and their weight
 * gradients come named as in the checkpoint, the QK-norm weights included.
 */
class FamilyGradTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g3/hf"})
    void finiteDifferencesAgreeWithTheGradient(String src) {
        try (Model model = Model.load(Fixtures.file(src), 2)) {
            int[] tokens = Fixtures.npy(Fixtures.file(src.replace("/hf", "/tokens.npy"))).ints();
            boolean g3 = src.startsWith("tiny-g3");
            List<String> hooks = g3 ? List.of("blocks.0.hook_resid_pre", "blocks.1.attn.hook_q", "blocks.1.attn.hook_k", "blocks.1.attn.hook_q_normed", "blocks.0.mlp.hook_pre", "blocks.1.hook_attn_out")
                    : List.of("blocks.0.hook_resid_pre", "blocks.1.attn.hook_k", "blocks.0.mlp.hook_pre", "blocks.1.attn.hook_z", "ln_final.hook_normalized");
            GradientResult g = model.gradients(tokens, GradientRequest.of(Metric.logitDiff()).capturing(hooks.toArray(String[]::new)));
            Metric.LogitDiff fixed = Metric.logitDiff(Metric.LAST, (int) g.details().get("target"), (int) g.details().get("baseline"));
            for (String hook : hooks) {
                Activation grad = g.gradient(hook);
                float[] act = model.run(tokens, RunOptions.caching(hook).withLogits(RunOptions.Logits.NONE)).cache().get(hook).data();
                float[] dir = new float[act.length];
                Random r = new Random(hook.hashCode());
                double scale = 0;
                for (float a : act) scale = Math.max(scale, Math.abs(a));
                for (int i = 0; i < dir.length; i++) dir[i] = (float) r.nextGaussian();
                double analytic = 0;
                for (int i = 0; i < dir.length; i++) analytic += (double) dir[i] * grad.data()[i];
                double eps = 1e-3 * scale;
                double fd = (value(model, tokens, fixed, hook, dir, eps) - value(model, tokens, fixed, hook, dir, -eps)) / (2 * eps);
                assertEquals(analytic, fd, 3e-2 * Math.abs(analytic) + 1e-3, src + " " + hook + ": finite difference " + fd + " vs gradient " + analytic);
            }
        }
    }

    private static double value(Model model, int[] tokens, Metric.LogitDiff m, String hook, float[] dir, double eps) {
        RunResult r = model.run(tokens, RunOptions.defaults().withHook(hook, a -> {
            for (int i = 0; i < dir.length; i++) a.data()[i] += (float) (eps * dir[i]);
        }).withLogits(RunOptions.Logits.LAST));
        float[] l = r.logitsAt(tokens.length - 1);
        return (double) l[m.target()] - l[m.baseline()];
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g3/hf"})
    void everyWeightGetsAGradientUnderItsCheckpointName(String src) {
        try (Model model = Model.load(Fixtures.file(src), 2)) {
            int[] tokens = Fixtures.npy(Fixtures.file(src.replace("/hf", "/tokens.npy"))).ints();
            GradientResult g = model.gradients(tokens, GradientRequest.of(Metric.loss()).withParameters(true));
            int perLayer = model.config().architecture().layerTensors().size();
            assertEquals(2 + perLayer * model.config().numLayers(), g.parameters().size(), g.parameters().keySet().toString());
            for (var p : g.parameters().values()) {
                double sum = 0;
                for (float v : p.data()) sum += Math.abs(v);
                assertTrue(sum > 0 && Double.isFinite(sum), p.name() + " has a zero or non-finite gradient");
            }
            if (src.startsWith("tiny-g3")) {
                assertArrayEquals(new int[]{model.config().headDim()}, g.parameters().get("model.layers.0.self_attn.q_norm.weight").shape());
            } else {
                assertNotNull(g.parameters().get("model.layers.0.post_attention_layernorm.weight"), "Gemma 1's pre-MLP norm, by its HF name");
            }
        }
    }
}
