package dev.loupe.model.generate;

import dev.loupe.model.Generation;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from logits: arg-max, or temperature / top-k / top-p sampling from a seeded stream. */
public final class Sampler {
    private final Generation g;
    private final SplittableRandom random;

    public Sampler(Generation g) {
        this.g = g;
        this.random = new SplittableRandom(g.seed());
    }

    public int next(float[] logits) {
        if (g.greedy()) return argmax(logits);
        int v = logits.length;
        float max = logits[argmax(logits)];
        double[] p = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logits[i] - max) / g.temperature());
            sum += p[i];
        }
        // Candidates in descending probability; top-k and top-p only need the head of that order, and
        // tokens below 1e-12 of the total cannot be drawn in any practical run.
        Integer[] idx = candidates(p, sum * 1e-12);
        Arrays.sort(idx, (a, b) -> Double.compare(p[b], p[a]));
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

    private static Integer[] candidates(double[] p, double floor) {
        int count = 0;
        for (double x : p) if (x >= floor) count++;
        Integer[] out = new Integer[count];
        int j = 0;
        for (int i = 0; i < p.length; i++) if (p[i] >= floor) out[j++] = i;
        return out;
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
