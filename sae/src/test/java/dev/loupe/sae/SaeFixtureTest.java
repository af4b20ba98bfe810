package dev.loupe.sae;

import dev.loupe.model.io.Npy;
import dev.loupe.sae.metrics.SaeMetrics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Encode/decode of the tiny-a SAE against numpy's float64 references (5e-3 absolute, identical active sets). */
class SaeFixtureTest {
    private static final float TOL = 5e-3f;
    private static Sae sae;
    private static Npy.Array x;

    @BeforeAll static void load() {
        sae = SaeFixture.load();
        x = SaeFixture.npy("sae_input.npy");
    }

    @AfterAll static void close() { sae.close(); }

    @Test void shapesAndHookComeFromTheArchive() {
        assertEquals(64, sae.dIn());
        assertEquals(256, sae.dSae());
        assertEquals(SaeFixture.HOOK, sae.hookName());
        assertEquals(SaeArchitecture.JUMPRELU, sae.architecture());
        // The fixture stores W_enc in Fortran order; it is used as its row-major transpose.
        assertTrue(sae.encoderTransposed());
    }

    @Test void preActivationsMatchNumpy() {
        float[] pre = sae.preActivations(x.data(), x.shape()[0]);
        Npy.Array ref = SaeFixture.npy("pre_acts.npy");
        assertArrayEquals(ref.data(), pre, TOL);
    }

    @Test void featureActivationsMatchWithIdenticalActiveSets() {
        int rows = x.shape()[0];
        SparseFeatures f = sae.encode(x.data(), rows);
        Npy.Array ref = SaeFixture.npy("feature_acts.npy");
        float[] dense = f.dense();
        for (int i = 0; i < dense.length; i++) {
            assertEquals(ref.data()[i] > 0, dense[i] > 0, "active set differs at flat index " + i);
        }
        assertArrayEquals(ref.data(), dense, TOL);
        // Sorted by value, largest first.
        for (int p = 0; p < rows; p++) {
            float[] v = f.values(p);
            for (int i = 1; i < v.length; i++) assertTrue(v[i - 1] >= v[i]);
        }
    }

    @Test void l0MatchesNumpyAndManifest() {
        SparseFeatures f = sae.encode(x.data(), x.shape()[0]);
        Npy.Array ref = SaeFixture.npy("l0.npy");
        assertArrayEquals(ref.ints(), f.l0());
        int[] fromManifest = new int[f.positions()];
        for (int i = 0; i < fromManifest.length; i++) fromManifest[i] = SaeFixture.manifest().get("l0_per_position").get(i).asInt();
        assertArrayEquals(fromManifest, f.l0());
        assertEquals(SaeFixture.manifest().get("mean_l0").asDouble(), SaeMetrics.meanL0(f.l0()), 1e-9);
    }

    @Test void reconstructionMatchesNumpy() {
        float[] recon = sae.reconstruct(x.data(), x.shape()[0]);
        assertArrayEquals(SaeFixture.npy("reconstruction.npy").data(), recon, TOL);
    }

    @Test void fvuMatchesManifest() {
        int rows = x.shape()[0];
        float[] recon = sae.reconstruct(x.data(), rows);
        double fvu = SaeMetrics.fvu(x.data(), recon, rows, 64);
        assertEquals(SaeFixture.manifest().get("fvu_all_positions").asDouble(), fvu, 1e-4);
        assertEquals(1 - fvu, SaeMetrics.explainedVariance(x.data(), recon, rows, 64), 1e-12);
        // Leaving out the BOS position (row 0), as the manifest's second figure does.
        int d = 64;
        float[] x1 = java.util.Arrays.copyOfRange(x.data(), d, rows * d);
        float[] r1 = java.util.Arrays.copyOfRange(recon, d, rows * d);
        assertEquals(SaeFixture.manifest().get("fvu_excluding_bos_position0").asDouble(), SaeMetrics.fvu(x1, r1, rows - 1, d), 1e-4);
    }

    @Test void decodeOfDenseRoundTripEqualsDecodeOfSparse() {
        int rows = x.shape()[0];
        SparseFeatures f = sae.encode(x.data(), rows);
        SparseFeatures again = SparseFeatures.fromDense(f.dense(), rows, sae.dSae(), 0);
        assertArrayEquals(sae.decode(f), sae.decode(again), 0f);
    }

    @Test void directionIsTheDecoderRow() {
        float[] dir = sae.direction(7);
        for (int i = 0; i < 64; i++) assertEquals(sae.decoderWeight().get(7L * 64 + i), dir[i], 0f);
    }
}
