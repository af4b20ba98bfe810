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
        Kept k = kept(logits);
        double r = random.nextDouble() * k.total;
        for (int i = 0; i < k.keep; i++) {
            r -= k.p[k.idx[i]];
            if (r <= 0) return k.idx[i];
        }
        return k.idx[k.keep - 1];
    }

    /**
     * The distribution {@link #next} draws from, over the whole vocabulary: one-hot on the arg-max when greedy,
     * else the tempered softmax restricted to the top-k / top-p head and renormalised (what assisted generation's
     * rejection step compares between draft and target).
     */
    public double[] distribution(float[] logits) {
        double[] out = new double[logits.length];
        if (g.greedy()) {
            out[argmax(logits)] = 1;
            return out;
        }
        Kept k = kept(logits);
        for (int i = 0; i < k.keep; i++) out[k.idx[i]] = k.p[k.idx[i]] / k.total;
        return out;
    }

    /** A token drawn from {@code distribution} (non-negative weights, not necessarily summing to 1) with this sampler's stream. */
    public int draw(double[] distribution) {
        double total = 0;
        int last = -1;
        for (int i = 0; i < distribution.length; i++) {
            if (distribution[i] > 0) { total += distribution[i]; last = i; }
        }
        if (last < 0) throw new IllegalArgumentException("a distribution with no positive weight");
        double r = random.nextDouble() * total;
        for (int i = 0; i < distribution.length; i++) {
            if (distribution[i] <= 0) continue;
            r -= distribution[i];
            if (r <= 0) return i;
        }
        return last;
    }

    /** A uniform number in [0, 1) from this sampler's stream. */
    public double uniform() { return random.nextDouble(); }

    /** The candidates after temperature, top-k and top-p: {@code idx[0..keep)} in descending weight {@code p}, summing to {@code total}. */
    private record Kept(Integer[] idx, int keep, double[] p, double total) {}

    private Kept kept(float[] logits) {
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
        return new Kept(idx, keep, p, total);
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
