package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.BitSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one mapping from interventions to hooks, checked against the formulas by hand (DESIGN §5). */
class InterventionTest {
    /** The reference input the hooks edit, and its number of positions. */
    private static final float[] X = SaeFixture.input().data();
    private static final int ROWS = SaeFixture.input().positions();
    private static Sae sae;

    @BeforeAll static void open() { sae = SaeFixture.load(); }

    @AfterAll static void close() { sae.close(); }

    private static float[] run(List<Intervention> list, Intervention.Options options) {
        Activation a = SaeFixture.input();
        SaeFixture.fire(Intervention.hooks(sae, list, options), a);
        return a.data();
    }

    @Test void addsOfOneFeatureSumAndScaleByTheMultiplier() {
        BitSet skipped = new BitSet();
        skipped.set(1);
        float[] got = run(List.of(new Intervention.Add(11, 2), new Intervention.Add(11, 1), new Intervention.Add(5, -4)),
                new Intervention.Options(0.5f, false, skipped, 0));
        float[] d11 = sae.direction(11), d5 = sae.direction(5);
        for (int p = 0; p < ROWS; p++) {
            for (int i = 0; i < 64; i++) {
                float h = X[p * 64 + i];
                float expected = p == 1 ? h : h + 0.5f * 3 * d11[i] + 0.5f * -4 * d5[i];
                assertEquals(expected, got[p * 64 + i], 1e-5f, "position " + p);
            }
        }
    }

    @Test void clampKeepsTheErrorTermAndSetsTheFeatureTimesTheMultiplier() {
        SparseFeatures f = sae.encode(X, ROWS);
        int feature = f.ids(0)[0];
        float[] got = run(List.of(new Intervention.Clamp(feature, 5)), new Intervention.Options(2f, false, new BitSet(), 0));
        float[] dir = sae.direction(feature);
        for (int p = 0; p < ROWS; p++) {
            float delta = 10f - f.get(p, feature);
            for (int i = 0; i < 64; i++) assertEquals(X[p * 64 + i] + delta * dir[i], got[p * 64 + i], 1e-4f, "position " + p);
        }
        assertEquals(10f, new Intervention.Clamp(feature, 5).target(2f));
        assertEquals(6f, new Intervention.ClampToMax(feature, 1.5, 2f).target(2f));
        assertEquals(0f, new Intervention.Ablate(feature).target(2f));
    }

    @Test void projectionCapLimitsTheComponentAlongTheUnitDirectionFromAPosition() {
        float[] got = run(List.of(Intervention.along(Steering.Method.PROJECTION_CAP, 3, 0.0)), new Intervention.Options(1f, false, new BitSet(), 2));
        float[] d = sae.direction(3);
        double norm = 0;
        for (float v : d) norm += v * v;
        norm = Math.sqrt(norm);
        for (int p = 0; p < ROWS; p++) {
            double proj = 0;
            for (int i = 0; i < 64; i++) proj += X[p * 64 + i] * d[i] / norm;
            for (int i = 0; i < 64; i++) {
                double h = X[p * 64 + i];
                // a cap of 0 removes a positive component and leaves a negative one; rows before 2 are untouched
                double expected = p < 2 || proj <= 0 ? h : h - proj * d[i] / norm;
                assertEquals(expected, got[p * 64 + i], 1e-4, "position " + p);
            }
        }
    }

    @Test void badInputIsNamed() {
        var out = assertThrows(BadInputException.class, () -> Intervention.hooks(sae, List.of(new Intervention.Ablate(sae.dSae())), Intervention.Options.plain()));
        assertEquals("feature", out.parameter());
        var late = assertThrows(BadInputException.class, () -> Intervention.hooks(sae, List.of(new Intervention.Ablate(1)),
                new Intervention.Options(1f, false, new BitSet(), 3)));
        assertEquals("fromPosition", late.parameter());
        assertThrows(BadInputException.class, () -> new Intervention.Options(Float.NaN, false, new BitSet(), 0));
        assertTrue(Intervention.hooks(sae, List.of(), Intervention.Options.plain()).isEmpty());
    }
}
