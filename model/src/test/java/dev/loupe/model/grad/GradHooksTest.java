package dev.loupe.model.grad;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.DifferentiableHook;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.GemmaModel;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Gradients with hooks (differentiable forward hooks, gradient hooks that replace), checkpointing against keeping
 * every layer, a finite-difference spot check of the float32 pass, and the one-line refusals of bad metrics.
 */
class GradHooksTest {
    static GemmaModel model;
    static int[] tokens;

    @BeforeAll
    static void load() {
        model = GemmaModel.load(Fixtures.file("tiny-a/hf"), 2);
        tokens = Fixtures.npy(Fixtures.file("tiny-a/grad/tokens.npy")).ints();
    }

    @AfterAll
    static void close() { model.close(); }

    /** Central differences along a random direction at three hook points agree with gradient · direction. */
    @Test
    void finiteDifferencesAgreeWithTheGradient() {
        Metric m = Metric.logitDiff(Metric.LAST, 104, 178);
        GradientResult g = model.gradients(tokens, GradientRequest.of(m).capturing("blocks.1.hook_resid_pre", "blocks.2.mlp.hook_pre",
                "blocks.3.attn.hook_v"));
        for (String hook : new String[]{"blocks.1.hook_resid_pre", "blocks.2.mlp.hook_pre", "blocks.3.attn.hook_v"}) {
            Activation grad = g.gradient(hook);
            float[] dir = new float[grad.data().length];
            Random r = new Random(hook.hashCode());
            for (int i = 0; i < dir.length; i++) dir[i] = (float) r.nextGaussian();
            double analytic = 0;
            for (int i = 0; i < dir.length; i++) analytic += (double) dir[i] * grad.data()[i];
            double eps = 2e-3;
            double fd = (logitDiff(hook, dir, eps) - logitDiff(hook, dir, -eps)) / (2 * eps);
            assertEquals(analytic, fd, 2e-2 * Math.abs(analytic) + 1e-3, hook + ": finite difference " + fd + " vs gradient " + analytic);
        }
    }

    private static double logitDiff(String hook, float[] dir, double eps) {
        RunResult r = model.run(tokens, RunOptions.defaults().withHook(hook, a -> {
            for (int i = 0; i < dir.length; i++) a.data()[i] += (float) (eps * dir[i]);
        }).withLogits(RunOptions.Logits.LAST));
        float[] l = r.logitsAt(tokens.length - 1);
        return (double) l[104] - l[178];
    }

    @Test
    void recomputingEachLayerGivesTheSameGradientsAsKeepingThem() {
        HookSet steer = HookSet.of("blocks.1.hook_resid_post", DifferentiableHook.additive(a -> a.data()[5] += 3f))
                .with("blocks.2.attn.hook_pattern", DifferentiableHook.additive(a -> {}));
        GradientRequest req = GradientRequest.of(Metric.logitDiff()).withHooks(steer).capturing("*").withParameters(true);
        GradientResult keep = model.gradients(tokens, req.withMemory(GradientRequest.Memory.KEEP));
        GradientResult again = model.gradients(tokens, req.withMemory(GradientRequest.Memory.RECOMPUTE));
        assertEquals(keep.value(), again.value());
        for (String name : keep.gradients().names()) {
            assertArrayEquals(keep.gradient(name).data(), again.gradient(name).data(), name);
        }
        for (String name : keep.parameters().keySet()) {
            assertArrayEquals(keep.parameters().get(name).data(), again.parameters().get(name).data(), name);
        }
    }

    @Test
    void aGradientHookThatDoublesTheGradientDoublesEverythingUpstream() {
        GradientRequest req = GradientRequest.of(Metric.logitDiff()).capturing("hook_embed", "blocks.3.hook_resid_post");
        GradientResult plain = model.gradients(tokens, req);
        GradientResult doubled = model.gradients(tokens, req.withGradientHooks(HookSet.of("blocks.3.hook_resid_pre", a -> {
            for (int i = 0; i < a.data().length; i++) a.data()[i] *= 2f;
        })));
        assertArrayEquals(plain.gradient("blocks.3.hook_resid_post").data(), doubled.gradient("blocks.3.hook_resid_post").data());
        float[] p = plain.gradient("hook_embed").data(), d = doubled.gradient("hook_embed").data();
        for (int i = 0; i < p.length; i++) assertEquals(2 * p[i], d[i], 1e-6 * Math.abs(p[i]) + 1e-12, "hook_embed[" + i + "]");
    }

    @Test
    void aReplacingHookThatIsNotDifferentiableIsRefused() {
        GradientRequest req = GradientRequest.of(Metric.logitDiff()).withHooks(HookSet.of("blocks.1.hook_resid_post", a -> a.data()[0] = 0f));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.gradients(tokens, req));
        assertTrue(e.getMessage().contains("blocks.1.hook_resid_post") && e.getMessage().contains("DifferentiableHook"), e.getMessage());
    }

    @Test
    void badMetricsAreRefusedInOneLineNamingTheField() {
        assertMessage("position: 40 is outside the prompt (0..39)", Metric.logitDiff(40, 1, 2));
        assertMessage("target: token 384 is outside the vocabulary [0, 384)", Metric.logitDiff(Metric.LAST, 384, 2));
        assertMessage("baseline: token -7 is outside the vocabulary [0, 384)", Metric.logitDiff(Metric.LAST, 1, -7));
        assertMessage("target: token 999 is outside the vocabulary [0, 384)", Metric.logProb(3, 999));
    }

    private static void assertMessage(String expected, Metric m) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.gradients(tokens, GradientRequest.of(m)));
        assertEquals(expected, e.getMessage());
    }

    /** The same weights in BF16 (exactly representable) and in a GGUF give the same gradients; GGUF names its weights its own way. */
    @Test
    void everyFormatGivesTheSameGradientsUnderItsOwnNames() {
        GradientRequest req = GradientRequest.of(Metric.loss()).capturing("blocks.*.hook_resid_pre").withParameters(true);
        GradientResult hf = model.gradients(tokens, req);
        for (String src : new String[]{"hf-bf16", "tiny-a-f32.gguf"}) {
            try (GemmaModel other = GemmaModel.load(Fixtures.tinyA().resolve(src), 2)) {
                GradientResult g = other.gradients(tokens, req);
                assertEquals(hf.value(), g.value(), 1e-4, src);
                for (String name : hf.gradients().names()) {
                    float[] a = hf.gradient(name).data(), b = g.gradient(name).data();
                    double max = 0, diff = 0;
                    for (int i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
                    assertTrue(diff <= 1e-4 * max, src + " " + name + ": " + diff + " of " + max);
                }
                assertEquals(hf.parameters().size(), g.parameters().size(), src);
                if (src.endsWith(".gguf")) {
                    assertTrue(g.parameters().containsKey("token_embd.weight"), g.parameters().keySet().toString());
                    assertTrue(g.parameters().containsKey("blk.3.post_ffw_norm.weight"), g.parameters().keySet().toString());
                    assertTrue(g.parameters().containsKey("output_norm.weight"), g.parameters().keySet().toString());
                } else {
                    assertEquals(hf.parameters().keySet(), g.parameters().keySet());
                }
            }
        }
    }
}
