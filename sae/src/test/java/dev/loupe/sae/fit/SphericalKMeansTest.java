package dev.loupe.sae.fit;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SphericalKMeansTest {
    private static final int D = 8;

    /** 40 points around each of the axes e0, e3 and e6 (noise 0.05 per coordinate), with norms from 0.5 to 20. */
    private static float[] clusters(Random r) {
        float[] x = new float[120 * D];
        for (int p = 0; p < 120; p++) {
            int axis = 3 * (p % 3);
            float norm = 0.5f + 19.5f * r.nextFloat();
            for (int i = 0; i < D; i++) x[p * D + i] = norm * ((i == axis ? 1 : 0) + 0.05f * (float) r.nextGaussian());
        }
        return x;
    }

    private static float[] norms(float[] x) {
        float[] n = new float[x.length / D];
        for (int p = 0; p < n.length; p++) {
            double s = 0;
            for (int i = 0; i < D; i++) s += x[p * D + i] * x[p * D + i];
            n[p] = (float) Math.sqrt(s);
        }
        return n;
    }

    @Test void findsTheDirectionsOfSeparatedClustersWhateverTheNorms() {
        float[] x = clusters(new Random(1));
        try (Backend b = Backends.byName(Backends.CPU, 1)) {
            SphericalKMeans km = new SphericalKMeans(HeapTensor.of("x", x, 120, D), norms(x), b);
            float[] c = km.fit(3, 7, 10);
            boolean[] found = new boolean[D];
            for (int k = 0; k < 3; k++) {
                double sq = 0;
                int axis = 0;
                for (int i = 0; i < D; i++) {
                    sq += c[k * D + i] * c[k * D + i];
                    if (Math.abs(c[k * D + i]) > Math.abs(c[k * D + axis])) axis = i;
                }
                assertEquals(1, sq, 1e-5, "centroid " + k + " is a unit vector");
                // Mean of 40 unit vectors with 0.05 noise per coordinate: the axis component is about 0.99.
                assertTrue(c[k * D + axis] > 0.97, "centroid " + k + " lies along an axis: " + c[k * D + axis]);
                found[axis] = true;
            }
            assertTrue(found[0] && found[3] && found[6], "one centroid per cluster");
            assertArrayEquals(c, km.fit(3, 7, 10), 0f);
        }
    }

    @Test void moreCentroidsThanDistinctDirectionsIsAClearError() {
        // Four points along two directions (each twice, at different norms).
        float[] x = new float[4 * D];
        x[0] = 1;
        x[D] = 3;
        x[2 * D + 1] = 2;
        x[3 * D + 1] = 5;
        try (Backend b = Backends.byName(Backends.CPU, 1)) {
            SphericalKMeans km = new SphericalKMeans(HeapTensor.of("x", x, 4, D), norms(x), b);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> km.fit(3, 1, 5));
            assertTrue(e.getMessage().contains("only 2 distinct directions"), e.getMessage());
        }
    }
}
