package dev.loupe.model.generate;

import dev.loupe.model.Generation;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {
    static final float[] LOGITS = {0f, (float) Math.log(2), (float) Math.log(4), (float) Math.log(8), -50f};

    static int[] histogram(Generation g, int draws) {
        Sampler s = new Sampler(g);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < draws; i++) counts[s.next(LOGITS)]++;
        return counts;
    }

    @Test
    void greedyTakesTheArgmax() {
        assertEquals(3, new Sampler(Generation.greedy(1)).next(LOGITS));
    }

    @Test
    void temperatureOneDrawsFromTheSoftmax() {
        // softmax of log(1, 2, 4, 8) = 1/15, 2/15, 4/15, 8/15 (the -50 logit is ~1e-22).
        int n = 60_000;
        int[] c = histogram(Generation.sample(1, 1f, 0, 1f, 5), n);
        double[] expected = {1 / 15.0, 2 / 15.0, 4 / 15.0, 8 / 15.0, 0};
        for (int i = 0; i < 5; i++) assertEquals(expected[i], c[i] / (double) n, 0.01, "token " + i);
    }

    @Test
    void topKAndTopPCutTheTail() {
        int[] k2 = histogram(Generation.sample(1, 1f, 2, 1f, 5), 30_000);
        assertEquals(0, k2[0] + k2[1] + k2[4]);
        assertEquals(2 / 3.0, k2[3] / 30_000.0, 0.015);  // 8 / (8 + 4)
        // top-p 0.7: 8/15 = 0.533 < 0.7, 8/15 + 4/15 = 0.8 >= 0.7, so tokens 3 and 2 remain.
        int[] p = histogram(Generation.sample(1, 1f, 0, 0.7f, 5), 30_000);
        assertEquals(0, p[0] + p[1] + p[4]);
        assertTrue(p[2] > 0 && p[3] > 0);
        int[] tiny = histogram(Generation.sample(1, 1f, 0, 0.1f, 5), 1_000);
        assertEquals(1_000, tiny[3]);
    }

    @Test
    void lowTemperatureApproachesGreedyAndTheSeedFixesTheStream() {
        assertEquals(2_000, histogram(Generation.sample(1, 0.01f, 0, 1f, 1), 2_000)[3]);
        Generation g = Generation.sample(1, 1.3f, 0, 1f, 42);
        Sampler a = new Sampler(g), b = new Sampler(g);
        for (int i = 0; i < 200; i++) assertEquals(a.next(LOGITS), b.next(LOGITS));
    }

    @Test
    void badOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Generation.sample(1, -1f, 0, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> Generation.sample(1, 1f, -3, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> Generation.sample(1, 1f, 0, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new Generation(-1, 0f, 0, 1f, 0, Set.of()));
    }

    /**
     * The definition the partial selection must reproduce: every candidate (weight at least 1e-12 of the total)
     * sorted by descending weight, ties by id; cut to top-k, then to the shortest head reaching top-p; one uniform
     * draw over the kept weights in that order.
     */
    static int reference(Generation g, SplittableRandom random, float[] logits) {
        float max = logits[Sampler.argmax(logits)];
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp((logits[i] - max) / g.temperature());
        double floor = sum * 1e-12;
        double[] w = p;
        Integer[] idx = IntStream.range(0, p.length).filter(i -> w[i] >= floor).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.comparingDouble((Integer i) -> -w[i]).thenComparingInt(i -> i));
        int keep = idx.length;
        if (g.topK() > 0) keep = Math.min(keep, g.topK());
        if (g.topP() < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += p[idx[i]] / sum;
                if (cum >= g.topP()) { keep = i + 1; break; }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += p[idx[i]];
        double r = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            r -= p[idx[i]];
            if (r <= 0) return idx[i];
        }
        return idx[keep - 1];
    }

    @Test
    void partialSelectionDrawsWhatTheFullSortDraws() {
        Random rnd = new Random(7);
        int vocab = 40_000;   // big enough for several chunks of the lazy order; the boxed reference sort is slow
        float[] logits = new float[vocab];
        for (Generation g : new Generation[]{
                Generation.sample(1, 0.7f, 40, 1f, 11), Generation.sample(1, 1f, 0, 0.9f, 12),
                Generation.sample(1, 1f, 64, 0.95f, 13), Generation.sample(1, 1.5f, 0, 0.5f, 14),
                Generation.sample(1, 1f, 1, 1f, 15), Generation.sample(1, 0.8f, 300_000, 1f, 16)}) {
            Sampler s = new Sampler(g);
            SplittableRandom ref = new SplittableRandom(g.seed());
            for (int step = 0; step < 4; step++) {
                // Gemma-like logits: a broad body with a few strong tokens and many exact ties (quantised values).
                for (int i = 0; i < vocab; i++) logits[i] = Math.round((float) rnd.nextGaussian() * 3f * 8f) / 8f;
                for (int j = 0; j < 5; j++) logits[rnd.nextInt(vocab)] = 12f + j;
                assertEquals(reference(g, ref, logits), s.next(logits), g + " step " + step);
            }
        }
    }

    @Test
    void selectLeavesTheSmallestInFront() {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(300);
            long[] a = new long[n];
            for (int i = 0; i < n; i++) a[i] = rnd.nextInt(trial % 2 == 0 ? 10 : 1_000_000);
            long[] sorted = a.clone();
            Arrays.sort(sorted);
            int k = rnd.nextInt(n + 1);
            Sampler.select(a, 0, n - 1, k);
            long[] head = Arrays.copyOf(a, k);
            Arrays.sort(head);
            assertArrayEquals(Arrays.copyOf(sorted, k), head, "n=" + n + " k=" + k);
        }
    }
}
