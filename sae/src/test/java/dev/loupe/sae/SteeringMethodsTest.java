package dev.loupe.sae;

import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every steering method on tiny-a at blocks.2.hook_resid_post, checked against the edited residual computed here
 * by hand (in double precision, from the SAE's stored W_dec rows and the residual the hook saw): the next block
 * (blocks.3.hook_resid_pre) must read exactly the hand-edited residual, and the residual itself must match the
 * numpy reference's sae_input.npy.
 */
class SteeringMethodsTest {
    private static final String NEXT = "blocks.3.hook_resid_pre";
    private static final int D = 64;
    private static Model model;
    private static Sae sae;
    private static int[] tokens;

    @BeforeAll static void load() throws IOException {
        model = Model.load(Fixtures.tinyA().resolve("hf"), 2);
        sae = Sae.load(SaeFixture.dir(), SaeFixture.HOOK, model.backend());
        tokens = Fixtures.npy(Fixtures.tinyA().resolve("tokens.npy")).ints();
    }

    @AfterAll static void close() {
        sae.close();
        model.close();
    }

    /** W_dec[f] as stored. */
    private static double[] row(int f) {
        double[] r = new double[D];
        for (int i = 0; i < D; i++) r[i] = sae.decoderWeight().get((long) f * D + i);
        return r;
    }

    private static double[] unit(double[] v) {
        double n = 0;
        for (double x : v) n += x * x;
        n = Math.sqrt(n);
        double[] u = new double[v.length];
        for (int i = 0; i < v.length; i++) u[i] = v[i] / n;
        return u;
    }

    private static double dot(double[] h, double[] u) {
        double s = 0;
        for (int i = 0; i < D; i++) s += h[i] * u[i];
        return s;
    }

    /** The residual the steering hook received, and what the next block read, in one run. */
    private record Seen(float[] before, float[] after) {
        double[] row(int p) {
            double[] h = new double[D];
            for (int i = 0; i < D; i++) h[i] = before[p * D + i];
            return h;
        }
    }

    private static Seen run(HookSet steering) {
        float[][] before = new float[1][];
        HookSet hooks = HookSet.of(SaeFixture.HOOK, a -> before[0] = a.data().clone()).with(steering);
        float[] next = model.run(tokens, RunOptions.caching(NEXT).withHooks(hooks)).cache().get(NEXT).data();
        float[] reference = SaeFixture.npy("sae_input.npy").data();
        for (int i = 0; i < reference.length; i++) assertEquals(reference[i], before[0][i], 5e-3f, "the unsteered residual matches numpy at " + i);
        return new Seen(before[0], next);
    }

    private static void assertRow(double[] expected, Seen seen, int p, String what) {
        for (int i = 0; i < D; i++) {
            assertEquals(expected[i], seen.after[p * D + i], 2e-5 * (1 + Math.abs(expected[i])), what + " at position " + p + ", dim " + i);
        }
    }

    @Test void simpleAdditiveWithMultiplierAndNormalization() {
        Map<Integer, Float> strengths = new LinkedHashMap<>();
        strengths.put(42, 3f);
        strengths.put(7, -2f);
        Seen plain = run(Steering.features(sae, strengths, new Steering.Options(Steering.Method.SIMPLE_ADDITIVE, 1.5f, false)).hookSet());
        Seen normalized = run(Steering.features(sae, strengths, new Steering.Options(Steering.Method.SIMPLE_ADDITIVE, 1.5f, true)).hookSet());
        double[] w42 = row(42), w7 = row(7), u42 = unit(w42), u7 = unit(w7);
        for (int p = 0; p < tokens.length; p++) {
            double[] h = plain.row(p), e = new double[D], hn = normalized.row(p), en = new double[D];
            for (int i = 0; i < D; i++) {
                e[i] = h[i] + 1.5 * 3 * w42[i] + 1.5 * -2 * w7[i];
                en[i] = hn[i] + 1.5 * 3 * u42[i] + 1.5 * -2 * u7[i];
            }
            assertRow(e, plain, p, "h + m·Σ s·W_dec[f]");
            assertRow(en, normalized, p, "h + m·Σ s·W_dec[f]/|W_dec[f]|");
        }
    }

    @Test void orthogonalDecompositionScalesTheComponentAlongTheDirection() {
        // c = multiplier × strength = 2 × −0.5 = −1: the component along W_dec[42] is flipped.
        Seen seen = run(Steering.features(sae, Map.of(42, -0.5f), new Steering.Options(Steering.Method.ORTHOGONAL_DECOMP, 2f, false)).hookSet());
        double[] u = unit(row(42));
        for (int p = 0; p < tokens.length; p++) {
            double[] h = seen.row(p), e = new double[D];
            double along = dot(h, u);
            for (int i = 0; i < D; i++) e[i] = (h[i] - along * u[i]) + (-1) * along * u[i];
            assertRow(e, seen, p, "(I − P)h + c·Ph");
            assertEquals(-along, dot(rowOf(seen.after, p), u), 1e-4, "the projection flipped at " + p);
        }
        // c = 1 leaves h as it was; c = 0 projects the direction out.
        Seen identity = run(Steering.features(sae, Map.of(42, 1f), new Steering.Options(Steering.Method.ORTHOGONAL_DECOMP, 1f, false)).hookSet());
        for (int p = 0; p < tokens.length; p++) assertRow(identity.row(p), identity, p, "c = 1");
        Seen out = run(Steering.features(sae, Map.of(42, 0f), new Steering.Options(Steering.Method.ORTHOGONAL_DECOMP, 1f, true)).hookSet());
        for (int p = 0; p < tokens.length; p++) assertEquals(0, dot(rowOf(out.after, p), u), 1e-4, "c = 0 leaves nothing along the direction at " + p);
    }

    @Test void projectionCapLowersOnlyTheProjectionsAboveTheCap() {
        double[] u = unit(row(7));
        float[] x = SaeFixture.npy("sae_input.npy").data();
        double[] projections = new double[tokens.length];
        for (int p = 0; p < tokens.length; p++) projections[p] = dot(rowOf(x, p), u);
        double[] sorted = projections.clone();
        Arrays.sort(sorted);
        float cap = (float) ((sorted[tokens.length / 2 - 1] + sorted[tokens.length / 2]) / 2);   // between two projections: half are capped
        Seen seen = run(Steering.features(sae, Map.of(7, cap / 4), new Steering.Options(Steering.Method.PROJECTION_CAP, 4f, false)).hookSet());
        int capped = 0;
        for (int p = 0; p < tokens.length; p++) {
            double[] h = seen.row(p), e = h.clone();
            double along = dot(h, u);
            if (along > cap) {
                capped++;
                for (int i = 0; i < D; i++) e[i] = h[i] - (along - cap) * u[i];
            }
            assertRow(e, seen, p, "the projection capped at " + cap);
            assertTrue(dot(rowOf(seen.after, p), u) <= cap + 1e-4);
        }
        assertEquals(tokens.length / 2, capped, "half the positions lie above the cap");
    }

    @Test void specialTokenPositionsCanBeLeftUnsteered() {
        BitSet bos = Steering.positionsOf(tokens, id -> id == tokens[0]);
        assertTrue(bos.get(0));
        Seen seen = run(Steering.features(sae, Map.of(42, 3f), Steering.Options.additive()).skipping(bos).hookSet());
        double[] w = row(42);
        for (int p = 0; p < tokens.length; p++) {
            double[] h = seen.row(p), e = h.clone();
            if (!bos.get(p)) for (int i = 0; i < D; i++) e[i] += 3 * w[i];
            assertRow(e, seen, p, bos.get(p) ? "a skipped position" : "a steered one");
        }
    }

    @Test void clampAndAblateChangeTheResidualByTheFeaturesChangeTimesItsDirection() {
        // With the error term kept the model reads h + (new − old)·W_dec[f]; old from the numpy reference's features.
        float[] acts = SaeFixture.npy("feature_acts.npy").data();
        int f = activeFeature(acts);
        BitSet first = new BitSet();
        first.set(1);
        Seen ablated = run(SaeSplice.of(sae).withErrorTerm(true).ablate(f).skipping(first).hookSet());
        Seen clamped = run(SaeSplice.of(sae).withErrorTerm(true).clamp(f, 5f).hookSet());
        double[] w = row(f);
        for (int p = 0; p < tokens.length; p++) {
            double old = acts[p * 256 + f];
            double[] ha = ablated.row(p), ea = ha.clone(), hc = clamped.row(p), ec = hc.clone();
            for (int i = 0; i < D; i++) {
                if (p != 1) ea[i] += (0 - old) * w[i];
                ec[i] += (5 - old) * w[i];
            }
            for (int i = 0; i < D; i++) {
                assertEquals(ea[i], ablated.after[p * D + i], 5e-3 * (1 + Math.abs(ea[i])), "ablate at " + p);
                assertEquals(ec[i], clamped.after[p * D + i], 5e-3 * (1 + Math.abs(ec[i])), "clamp at " + p);
            }
        }
    }

    @Test void badDirectionsAndStrengthsAreRefused() {
        float[] zero = new float[D];
        assertThrows(IllegalArgumentException.class, () -> Steering.vectors(SaeFixture.HOOK, java.util.List.of(zero), java.util.List.of(1f),
                Steering.Options.additive().withMethod(Steering.Method.ORTHOGONAL_DECOMP)));
        assertThrows(IllegalArgumentException.class, () -> Steering.vectors(SaeFixture.HOOK, java.util.List.of(zero), java.util.List.of(1f),
                new Steering.Options(Steering.Method.SIMPLE_ADDITIVE, 1f, true)));
        assertThrows(IllegalArgumentException.class, () -> new Steering.Options(Steering.Method.PROJECTION_CAP, Float.NaN, false));
    }

    /** Each edit's backward is its Jacobian's transpose applied to the gradient: checked by finite differences. */
    @Test void backwardMatchesFiniteDifferences() {
        java.util.Random rnd = new java.util.Random(3);
        float[] v = new float[D], h = new float[D], g = new float[D];
        for (int i = 0; i < D; i++) { v[i] = (float) rnd.nextGaussian(); h[i] = (float) rnd.nextGaussian(); g[i] = (float) rnd.nextGaussian(); }
        double hv = 0, vv = 0;
        for (int i = 0; i < D; i++) { hv += h[i] * v[i]; vv += v[i] * v[i]; }
        float proj = (float) (hv / Math.sqrt(vv));
        for (SteeringOp op : java.util.List.of(new SteeringOp.Add(v, 2f), new SteeringOp.OrthogonalDecomp(v, -0.5f),
                new SteeringOp.ProjectionCap(v, proj - 1f), new SteeringOp.ProjectionCap(v, proj + 1f))) {
            float[] back = g.clone();
            op.backward(h.clone(), back, 0);
            for (int j = 0; j < D; j += 7) {
                double eps = 1e-2;
                float[] plus = h.clone(), minus = h.clone();
                plus[j] += (float) eps;
                minus[j] -= (float) eps;
                op.apply(plus, 0);
                op.apply(minus, 0);
                double numeric = 0;
                for (int i = 0; i < D; i++) numeric += g[i] * (plus[i] - minus[i]) / (2 * eps);
                assertEquals(numeric, back[j], 1e-3, op.getClass().getSimpleName() + " d/dh[" + j + "]");
            }
        }
    }

    private static double[] rowOf(float[] data, int p) {
        double[] r = new double[D];
        for (int i = 0; i < D; i++) r[i] = data[p * D + i];
        return r;
    }

    /** A feature active at some positions and not at others, so both cases of an edit are exercised. */
    private static int activeFeature(float[] acts) {
        for (int f = 0; f < 256; f++) {
            int on = 0;
            for (int p = 0; p < tokens.length; p++) if (acts[p * 256 + f] > 0) on++;
            if (on > 1 && on < tokens.length - 1) return f;
        }
        throw new AssertionError("no partly active feature in the fixture");
    }
}
