package dev.loupe.model.grad;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backward pass on Gemma 1 (no post-norms, head_dim scale) and Gemma 3 (QK-norm, a RoPE per layer type, sliding
 * layers): central differences of the forward pass along a random direction agree with gradient · direction, at the
 * residual stream, the queries (through QK-norm on Gemma 3) and the MLP; the logit difference matches the forward pass's.
 */
class FamilyGradientsTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a", "tiny-g3"})
    void finiteDifferencesAgreeWithTheGradient(String fixture) {
        try (Model model = Model.load(Fixtures.file(fixture + "/hf"), 2)) {
            int[] tokens = java.util.Arrays.copyOf(Fixtures.npy(Fixtures.file(fixture + "/tokens.npy")).ints(), 12);
            int target = 17, baseline = 40;
            String[] hooks = {"blocks.0.hook_resid_post", "blocks.1.attn.hook_q", "blocks.1.mlp.hook_pre", "blocks.0.attn.hook_v"};
            GradientResult g = model.gradients(tokens, GradientRequest.of(Metric.logitDiff(Metric.LAST, target, baseline)).capturing(hooks)
                    .withParameters(true));
            float[] last = model.run(tokens, RunOptions.defaults().withLogits(RunOptions.Logits.LAST)).logitsAt(tokens.length - 1);
            assertEquals((double) last[target] - last[baseline], g.value(), 1e-3);
            for (String hook : hooks) {
                Activation grad = g.gradient(hook);
                float[] dir = new float[grad.data().length];
                Random r = new Random(hook.hashCode());
                for (int i = 0; i < dir.length; i++) dir[i] = (float) r.nextGaussian();
                double analytic = 0;
                for (int i = 0; i < dir.length; i++) analytic += (double) dir[i] * grad.data()[i];
                double eps = 5e-4;
                double fd = (logitDiff(model, tokens, hook, dir, eps, target, baseline) - logitDiff(model, tokens, hook, dir, -eps, target, baseline)) / (2 * eps);
                assertEquals(analytic, fd, 3e-2 * Math.abs(analytic) + 2e-3, fixture + " " + hook + ": finite difference " + fd + " vs gradient " + analytic);
            }
            // Parameter gradients carry the checkpoint's names, per architecture.
            String norm = fixture.equals("tiny-g3") ? "model.layers.0.self_attn.q_norm.weight" : "model.layers.0.post_attention_layernorm.weight";
            assertTrue(g.parameters().containsKey(norm), g.parameters().keySet().toString());
        }
    }

    private static double logitDiff(Model model, int[] tokens, String hook, float[] dir, double eps, int target, int baseline) {
        RunResult r = model.run(tokens, RunOptions.defaults().withHook(hook, a -> {
            for (int i = 0; i < dir.length; i++) a.data()[i] += (float) (eps * dir[i]);
        }).withLogits(RunOptions.Logits.LAST));
        float[] l = r.logitsAt(tokens.length - 1);
        return (double) l[target] - l[baseline];
    }
}
