package dev.loupe.sae;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.io.Npy;
import dev.loupe.sae.metrics.SaeEvaluator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SAE spliced into tiny-a's forward pass (HF F32 checkpoint) at blocks.2.hook_resid_post. */
class SaeModelTest {
    private static final String NEXT = "blocks.3.hook_resid_pre";
    private static Model model;
    private static Sae sae;
    private static int[] tokens;

    @BeforeAll static void load() throws IOException {
        model = Model.load(Fixtures.file("tiny-a/hf"), 2);
        sae = Sae.load(SaeFixture.dir(), SaeFixture.HOOK, model.backend());
        tokens = Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints();
    }

    @AfterAll static void close() {
        sae.close();
        model.close();
    }

    private static RunResult run(HookSet hooks, String... cache) {
        return model.run(tokens, RunOptions.caching(cache).withHooks(hooks));
    }

    @Test void featuresOfTheModelsResidualMatchTheFixture() {
        Activation x = run(HookSet.empty(), SaeFixture.HOOK).cache().get(SaeFixture.HOOK);
        SparseFeatures f = sae.encode(x);
        Npy.Array acts = SaeFixture.npy("feature_acts.npy");
        float[] dense = f.dense();
        for (int i = 0; i < dense.length; i++) assertEquals(acts.data()[i] > 0, dense[i] > 0, "active set at flat index " + i);
        assertArrayEquals(acts.data(), dense, 5e-3f);
        assertArrayEquals(SaeFixture.npy("l0.npy").ints(), f.l0());
        assertArrayEquals(SaeFixture.npy("reconstruction.npy").data(), sae.decode(f), 5e-3f);
    }

    @Test void splicedWithoutErrorTermTheNextBlockSeesTheReconstruction() {
        RunResult r = run(SaeSplice.of(sae).hookSet(), NEXT);
        assertArrayEquals(SaeFixture.npy("reconstruction.npy").data(), r.cache().get(NEXT).data(), 5e-3f);
    }

    @Test void withTheErrorTermLogitsEqualTheCleanRun() {
        float[] clean = run(HookSet.empty()).logits();
        List<int[]> shapes = new ArrayList<>();
        // The observer forces the full encode/decode path instead of the no-op shortcut.
        HookSet splice = SaeSplice.of(sae).withErrorTerm(true).hookSet()
                .with(SaeSplice.Point.ACTS_POST.at(SaeFixture.HOOK), a -> shapes.add(a.shape()));
        float[] spliced = run(splice).logits();
        assertArrayEquals(clean, spliced, 1e-4f);
        assertEquals(1, shapes.size());
        assertArrayEquals(new int[]{tokens.length, 256}, shapes.getFirst());
        float[] noError = run(SaeSplice.of(sae).hookSet()).logits();
        double maxDiff = 0;
        for (int i = 0; i < clean.length; i++) maxDiff = Math.max(maxDiff, Math.abs(clean[i] - noError[i]));
        assertTrue(maxDiff > 1e-2, "the reconstruction alone changes the logits (max diff " + maxDiff + ")");
    }

    @Test void steeringShiftsTheResidualByAlphaTimesTheDecoderRow() {
        int feature = 42;
        float alpha = 3.5f;
        float[] v = sae.direction(feature);
        float[][] before = new float[1][];
        // Compared within one run: separate runs may differ in the last bits (Vector API reductions before and after JIT).
        HookSet hooks = HookSet.of(SaeFixture.HOOK, a -> before[0] = a.data().clone()).with(Steering.add(sae, feature, alpha).hookSet());
        float[] next = run(hooks, NEXT).cache().get(NEXT).data();
        for (int p = 0; p < tokens.length; p++) {
            for (int i = 0; i < 64; i++) {
                float x = before[0][p * 64 + i];
                assertEquals(x + alpha * v[i], next[p * 64 + i], 0f, "the next block reads the steered residual");
                assertEquals(alpha * v[i], next[p * 64 + i] - x, Math.ulp(Math.abs(x) + Math.abs(alpha * v[i])));
            }
        }
        float[] clean = run(HookSet.empty(), NEXT).cache().get(NEXT).data();
        for (int i = 0; i < clean.length; i++) assertEquals(alpha * v[i % 64], next[i] - clean[i], 1e-3f);
    }

    @Test void steeringAndClampingApplyInEveryGenerationStep() {
        int feature = 7;
        float alpha = -2f;
        float[] v = sae.direction(feature);
        List<float[]> before = new ArrayList<>(), after = new ArrayList<>();
        List<Integer> firsts = new ArrayList<>();
        HookSet hooks = HookSet.of(SaeFixture.HOOK, a -> before.add(a.data().clone()))
                .with(Steering.add(sae, feature, alpha).hookSet())
                .with(SaeFixture.HOOK, a -> { after.add(a.data().clone()); firsts.add(a.firstPosition()); });
        int[] prompt = java.util.Arrays.copyOf(tokens, 6);
        int generated = model.generate(prompt, Generation.greedy(5).withStops(Set.of()), hooks, null).generated().length;
        assertEquals(5, generated);
        assertEquals(List.of(0, 6, 7, 8, 9), firsts, "the prompt, then one firing per generation step");
        for (int k = 0; k < before.size(); k++) {
            float[] b = before.get(k), a = after.get(k);
            for (int i = 0; i < b.length; i++) assertEquals(b[i] + alpha * v[i % 64], a[i], 1e-6f);
        }

        // The clamp changes the residual by (5 − a_f)·W_dec[f] at the prompt's positions and at every step.
        List<float[]> in = new ArrayList<>(), out = new ArrayList<>();
        HookSet spliceHooks = HookSet.of(SaeFixture.HOOK, a -> in.add(a.data().clone()))
                .with(SaeSplice.of(sae).withErrorTerm(true).clamp(feature, 5f).hookSet())
                .with(SaeFixture.HOOK, a -> out.add(a.data().clone()));
        model.generate(prompt, Generation.greedy(3).withStops(Set.of()), spliceHooks, null);
        assertEquals(3, in.size());
        for (int k = 0; k < in.size(); k++) {
            float[] x = in.get(k), y = out.get(k);
            SparseFeatures f = sae.encode(x, x.length / 64);
            for (int p = 0; p < f.positions(); p++) {
                float delta = 5f - f.get(p, feature);
                for (int i = 0; i < 64; i++) assertEquals(x[p * 64 + i] + delta * v[i], y[p * 64 + i], 1e-4f);
            }
        }
    }

    @Test void evaluationMetricsOnTinyA() {
        SaeEvaluator.Model m = (t, hooks) -> model.run(t, RunOptions.defaults().withHooks(hooks)).logits();
        SaeEvaluator.Report r = SaeEvaluator.evaluate(m, model.config().vocabSize(), sae, List.of(tokens), Set.of(2));
        assertEquals(SaeFixture.manifest().get("fvu_excluding_bos_position0").asDouble(), r.fvu(), 2e-3);
        assertEquals(tokens.length - 1, r.reconstructionPositions());
        // tiny-a has random weights, so only the definitions can be checked, not that the SAE helps.
        float[] clean = model.run(tokens, RunOptions.defaults()).logits();
        assertEquals(dev.loupe.sae.metrics.SaeMetrics.crossEntropy(clean, model.config().vocabSize(), tokens), r.ceLossWithoutSae(), 1e-4);
        assertEquals((r.ceLossWithAblation() - r.ceLossWithSae()) / (r.ceLossWithAblation() - r.ceLossWithoutSae()), r.ceLossScore(), 1e-12);
        assertTrue(r.klDivWithSae() > 0 && r.klDivWithAblation() > 0, r.toString());
    }

    @Test void routingSaeHookNamesThroughTheModel() {
        HookPoints points = model.hookPoints();
        List<String> names = new ArrayList<>();
        HookSet user = HookSet.of(SaeFixture.HOOK + ".hook_sae_recons", a -> names.add(a.name()))
                .with("blocks.0.hook_resid_post", a -> names.add(a.name()));
        model.run(tokens, RunOptions.defaults().withHooks(user.with(SaeSplice.of(sae).withErrorTerm(true).hookSet())));
        assertEquals(List.of("blocks.0.hook_resid_post", SaeFixture.HOOK + ".hook_sae_recons"), names);
        assertTrue(model.hookPoints(SaeSplice.of(sae).hookSet()).names().containsAll(List.of(
                SaeFixture.HOOK + ".hook_sae_acts_post", SaeFixture.HOOK + ".hook_sae_error", "blocks.3.hook_resid_post")));
        assertEquals(points.size(), model.hookPoints().size());
    }

    /** The splice's points are in the registry the run's cache globs resolve against: the features cache by name. */
    @Test void theSplicesFeaturesCacheByNameAndMatchTheFixture() {
        String acts = SaeSplice.Point.ACTS_POST.at(SaeFixture.HOOK);
        RunResult r = run(SaeSplice.of(sae).withErrorTerm(true).hookSet(), acts, "*.hook_sae_error");
        Npy.Array expected = SaeFixture.npy("feature_acts.npy");
        assertArrayEquals(expected.shape(), r.cache().get(acts).shape());
        assertArrayEquals(expected.data(), r.cache().get(acts).data(), 5e-3f);
        assertTrue(r.cache().contains(SaeFixture.HOOK + ".hook_sae_error"));
    }
}
