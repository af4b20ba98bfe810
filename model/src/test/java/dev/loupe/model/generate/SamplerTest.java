package dev.loupe.model.generate;

import dev.loupe.model.Generation;
import org.junit.jupiter.api.Test;

import java.util.Set;

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
}
