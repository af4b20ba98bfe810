package dev.loupe.model.generate;

import dev.loupe.model.Generation;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: arg-max, or temperature / top-k / top-p sampling from a seeded stream.
 *
 * <p>Sampling walks the candidates in descending probability (ties by ascending id), but only as far as it needs:
 * each candidate is one primitive {@code long} key (its scaled logit's order, then its id), and the head of that
 * order is found by partial selection and sorted a chunk at a time. A 256k vocabulary therefore costs a few linear
 * passes per token rather than a sort of boxed indices. Not thread-safe: one sampler per generation.
 */
public final class Sampler {
    /** The first chunk of the order that is sorted; later chunks grow four-fold. */
    private static final int FIRST_CHUNK = 64;

    private final Generation g;
    private final SplittableRandom random;
    private double[] weights = new double[0];
    private long[] keys = new long[0];

    public Sampler(Generation g) {
        this.g = g;
        this.random = new SplittableRandom(g.seed());
    }

    public int next(float[] logits) {
        if (g.greedy()) return argmax(logits);
        Kept k = kept(logits);
        double r = random.nextDouble() * k.total;
        for (int i = 0; i < k.keep; i++) {
            int id = k.order.id(i);
            r -= k.p[id];
            if (r <= 0) return id;
        }
        return k.order.id(k.keep - 1);
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
        for (int i = 0; i < k.keep; i++) {
            int id = k.order.id(i);
            out[id] = k.p[id] / k.total;
        }
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

    /**
     * The candidates after temperature, top-k and top-p: the first {@code keep} of {@code order}, with weights
     * {@code p} (this sampler's scratch array, valid until the next call) summing to {@code total}.
     */
    private record Kept(Order order, int keep, double[] p, double total) {}

    private Kept kept(float[] logits) {
        int v = logits.length;
        if (weights.length < v) {
            weights = new double[v];
            keys = new long[v];
        }
        double[] p = weights;
        float max = logits[argmax(logits)];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logits[i] - max) / g.temperature());
            sum += p[i];
        }
        // Tokens below 1e-12 of the total cannot be drawn in any practical run: they are not candidates.
        double floor = sum * 1e-12;
        int n = 0;
        for (int i = 0; i < v; i++) {
            if (p[i] >= floor) {
                // exp is increasing, so the scaled logit orders the weights; 0 - s >= 0 orders as its raw bits.
                float s = (logits[i] - max) / g.temperature();
                keys[n++] = ((long) Float.floatToRawIntBits(0f - s) << 32) | i;
            }
        }
        Order order = new Order(keys, n);
        int keep = n;
        if (g.topK() > 0) keep = Math.min(keep, g.topK());
        if (g.topP() < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += p[order.id(i)] / sum;
                if (cum >= g.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double total = 0;
        if (keep < n || order.sorted() == n) {
            order.sortTo(keep);
            for (int i = 0; i < keep; i++) total += p[order.id(i)];
        } else {
            // Every candidate is kept: the total needs no order.
            for (int i = 0; i < n; i++) total += p[(int) keys[i]];
        }
        return new Kept(order, keep, p, total);
    }

    /**
     * The candidates' keys, sorted lazily from the front: {@code keys[0, sorted)} are the smallest keys in order,
     * the rest are unordered. Asking for position {@code i} sorts the next chunk when needed.
     */
    private static final class Order {
        private final long[] keys;
        private final int n;
        private int sorted;

        Order(long[] keys, int n) {
            this.keys = keys;
            this.n = n;
        }

        int sorted() { return sorted; }

        /** The token id at position {@code i} of the descending-probability order. */
        int id(int i) {
            if (i >= sorted) sortTo(Math.min(n, Math.max(i + 1, Math.max(FIRST_CHUNK, sorted * 4))));
            return (int) keys[i];
        }

        /** Makes {@code keys[0, m)} the m smallest keys, in order. */
        void sortTo(int m) {
            if (m <= sorted) return;
            if (m < n) select(keys, sorted, n - 1, m);
            Arrays.sort(keys, sorted, m);
            sorted = m;
        }
    }

    /** Partially orders {@code a[lo, hi]} so that {@code a[lo, k)} holds its smallest elements (quickselect). */
    static void select(long[] a, int lo, int hi, int k) {
        while (hi > lo && k > lo && k <= hi) {
            int mid = (lo + hi) >>> 1;
            // median of three as the pivot, which keeps already-ordered inputs linear
            if (a[mid] < a[lo]) swap(a, mid, lo);
            if (a[hi] < a[lo]) swap(a, hi, lo);
            if (a[hi] < a[mid]) swap(a, hi, mid);
            long pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) swap(a, i++, j--);
            }
            // now a[lo..j] <= pivot <= a[i..hi]; keep the side that holds the boundary k
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return;
        }
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
