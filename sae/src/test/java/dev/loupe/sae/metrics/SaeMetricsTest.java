package dev.loupe.sae.metrics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Hand-computed values. */
class SaeMetricsTest {
    @Test void mseFvuAndExplainedVariance() {
        // Two positions, two dims: x = [[1, 2], [3, 6]], recon = [[1, 3], [2, 6]].
        float[] x = {1, 2, 3, 6}, r = {1, 3, 2, 6};
        assertEquals(0.5, SaeMetrics.mse(x, r), 1e-12);
        // Σ(x−r)² = 2; mean over positions = [2, 4]; Σ(x−mean)² = 1 + 4 + 1 + 4 = 10.
        assertEquals(0.2, SaeMetrics.fvu(x, r, 2, 2), 1e-12);
        assertEquals(0.8, SaeMetrics.explainedVariance(x, r, 2, 2), 1e-12);
        // Legacy: per position 1 − 1/5 each.
        assertEquals(0.8, SaeMetrics.explainedVarianceLegacy(x, r, 2, 2), 1e-12);
    }

    @Test void accumulatedStatsEqualOneShotOnes() {
        float[] x = {1, 2, 3, 6, -1, 0.5f}, r = {1, 3, 2, 6, 0, 0};
        ReconstructionStats s = new ReconstructionStats(2);
        s.add(java.util.Arrays.copyOf(x, 2), java.util.Arrays.copyOf(r, 2), 1);
        s.add(java.util.Arrays.copyOfRange(x, 2, 6), java.util.Arrays.copyOfRange(r, 2, 6), 2);
        s.addL0(new int[]{3, 4, 5});
        assertEquals(SaeMetrics.fvu(x, r, 3, 2), s.fvu(), 1e-12);
        assertEquals(SaeMetrics.mse(x, r), s.mse(), 1e-12);
        assertEquals(4.0, s.meanL0(), 1e-12);
    }

    @Test void crossEntropyOfUniformAndOneHotLogits() {
        int vocab = 4;
        float[] uniform = new float[3 * vocab];
        int[] tokens = {0, 1, 2};
        assertArrayEquals(new double[]{Math.log(4), Math.log(4)}, SaeMetrics.crossEntropyPerToken(uniform, vocab, tokens), 1e-12);
        // logits [0, ln 3, 0, 0] give p(1) = 3/6.
        float[] l = new float[3 * vocab];
        l[1] = (float) Math.log(3);
        assertEquals(-Math.log(0.5), SaeMetrics.crossEntropyPerToken(l, vocab, tokens)[0], 1e-6);
    }

    @Test void klDivergence() {
        // p = [0.5, 0.5], q = [0.25, 0.75]: KL = 0.5 ln 2 + 0.5 ln(2/3).
        float[] p = {0, 0};
        float[] q = {0, (float) Math.log(3)};
        double expected = 0.5 * Math.log(2) + 0.5 * Math.log(2.0 / 3);
        assertEquals(expected, SaeMetrics.klDivergencePerPosition(p, q, 2)[0], 1e-6);
        assertEquals(0, SaeMetrics.klDivergencePerPosition(q, q, 2)[0], 1e-12);
    }

    @Test void scores() {
        assertEquals(0.75, SaeMetrics.ceLossScore(2.0, 2.5, 4.0), 1e-12);
        assertEquals(0.9, SaeMetrics.klDivScore(0.1, 1.0), 1e-12);
        DownstreamStats d = new DownstreamStats();
        float[] clean = new float[2 * 2];
        float[] other = {0, (float) Math.log(3), 0, (float) Math.log(3)};
        d.add(new int[]{0, 1}, 2, clean, clean, other);
        assertEquals(Math.log(2), d.ceLossWithoutSae(), 1e-6);
        assertEquals(Math.log(2), d.ceLossWithSae(), 1e-6);
        assertEquals(-Math.log(0.75), d.ceLossWithAblation(), 1e-6);
        assertEquals(1.0, d.ceLossScore(), 1e-6);
        assertEquals(0.0, d.klDivWithSae(), 1e-12);
        assertEquals(1, d.predictedPositions());
    }
}
