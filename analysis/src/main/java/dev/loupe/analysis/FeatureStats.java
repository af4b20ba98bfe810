package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The per-feature summaries of one SAE, computed from its activation shards in two streaming passes with memory
 * that depends only on the SAE's width: counts, sums, maxima and fixed log-spaced histogram bins; a top-k heap of
 * activating windows; then, once each feature's maximum is known, quantile groups of examples sampled with a
 * seeded hash (bottom-k sampling: the same sample whatever order or chunking the rows come in).
 *
 * <p>Examples are per window: a feature that fires on several tokens of one window contributes one example, its
 * strongest token there (as Neuronpedia and SAEDashboard show one context per example).
 */
final class FeatureStats {
    /** Histogram bins: {@code BINS_PER_DECADE} per decade from {@code 10^MIN_EXP} to {@code 10^MAX_EXP}. */
    static final int MIN_EXP = -3, MAX_EXP = 5, BINS_PER_DECADE = 20;
    static final int BINS = (MAX_EXP - MIN_EXP) * BINS_PER_DECADE;

    final int dSae;
    final int context;
    final int topK, quantiles, perQuantile;
    final long seed;
    final long[] fireCount;
    final double[] sum;
    final float[] max;
    final int[] hist;
    // top-k heaps (min-heaps on (activation, then later doc/pos is worse)), flattened [feature * topK + slot]
    final float[] topValue;
    final int[] topDoc, topPos, topCount;
    // quantile samples, flattened [(feature * quantiles + band) * perQuantile + slot]
    final long[] sampleKey;
    final float[] sampleValue;
    final int[] sampleDoc, samplePos, sampleCount;
    // the current window's strongest token per feature
    private final long[] windowKey;
    private final float[] windowValue;
    private final int[] windowPos;

    FeatureStats(int dSae, IndexOptions o) {
        this.dSae = dSae;
        this.context = o.context();
        this.topK = o.topK();
        this.quantiles = o.quantiles();
        this.perQuantile = o.perQuantile();
        this.seed = o.seed();
        fireCount = new long[dSae];
        sum = new double[dSae];
        max = new float[dSae];
        hist = new int[Math.multiplyExact(dSae, BINS)];
        topValue = new float[Math.multiplyExact(dSae, topK)];
        topDoc = new int[topValue.length];
        topPos = new int[topValue.length];
        topCount = new int[dSae];
        int q = Math.multiplyExact(Math.multiplyExact(dSae, quantiles), perQuantile);
        sampleKey = new long[q];
        sampleValue = new float[q];
        sampleDoc = new int[q];
        samplePos = new int[q];
        sampleCount = new int[dSae * quantiles];
        windowKey = new long[dSae];
        windowValue = new float[dSae];
        windowPos = new int[dSae];
    }

    /** Lower edge of bin {@code i} ({@code i == BINS} gives the top edge). */
    static float edge(int i) { return (float) Math.pow(10, MIN_EXP + (double) i / BINS_PER_DECADE); }

    static int bin(float v) {
        if (!(v > 0)) return 0;
        int b = (int) Math.floor((Math.log10(v) - MIN_EXP) * BINS_PER_DECADE);
        return Math.max(0, Math.min(BINS - 1, b));
    }

    /** Both passes over the shards. */
    void compute(List<Path> shards, BufferAllocator allocator) throws IOException {
        Arrays.fill(windowKey, -1);
        scan(shards, allocator, true);
        flushWindows(true);
        Arrays.fill(windowKey, -1);
        scan(shards, allocator, false);
        flushWindows(false);
    }

    private void scan(List<Path> shards, BufferAllocator allocator, boolean first) throws IOException {
        for (Path shard : shards) {
            try (ArrowFileReader r = ArrowFiles.open(shard, allocator)) {
                VectorSchemaRoot root = r.getVectorSchemaRoot();
                while (r.loadNextBatch()) {
                    IntVector doc = (IntVector) root.getVector("doc_id");
                    IntVector pos = (IntVector) root.getVector("pos");
                    IntVector feat = (IntVector) root.getVector("feature_id");
                    Float4Vector act = (Float4Vector) root.getVector("activation");
                    int n = root.getRowCount();
                    for (int i = 0; i < n; i++) {
                        int f = feat.get(i);
                        if (f < 0 || f >= dSae) throw new IOException(shard + ": feature_id " + f + " outside [0, " + dSae + ")");
                        int d = doc.get(i), p = pos.get(i);
                        float v = act.get(i);
                        if (first) {
                            fireCount[f]++;
                            sum[f] += v;
                            if (v > max[f]) max[f] = v;
                            hist[f * BINS + bin(v)]++;
                        }
                        long key = ((long) d << 32) | CorpusIndexer.windowOf(p, context);
                        if (windowKey[f] != key) {
                            if (windowKey[f] >= 0) offer(f, first);
                            windowKey[f] = key;
                            windowValue[f] = v;
                            windowPos[f] = p;
                        } else if (v > windowValue[f]) {
                            windowValue[f] = v;
                            windowPos[f] = p;
                        }
                    }
                }
            }
        }
    }

    private void flushWindows(boolean first) {
        for (int f = 0; f < dSae; f++) if (windowKey[f] >= 0) offer(f, first);
    }

    private void offer(int f, boolean first) {
        int doc = (int) (windowKey[f] >>> 32);
        if (first) offerTop(f, windowValue[f], doc, windowPos[f]);
        else offerSample(f, windowValue[f], doc, windowPos[f]);
    }

    /** Whether example a is worse than example b: lower activation, or equal and later in the corpus. */
    private static boolean worse(float va, int da, int pa, float vb, int db, int pb) {
        if (va != vb) return va < vb;
        if (da != db) return da > db;
        return pa > pb;
    }

    private void offerTop(int f, float v, int doc, int pos) {
        int base = f * topK;
        int n = topCount[f];
        if (n < topK) {
            int i = n;
            topCount[f] = n + 1;
            // sift up in the min-heap
            while (i > 0) {
                int parent = (i - 1) / 2;
                if (!worse(v, doc, pos, topValue[base + parent], topDoc[base + parent], topPos[base + parent])) break;
                set(base + i, base + parent);
                i = parent;
            }
            put(base + i, v, doc, pos);
            return;
        }
        if (!worse(topValue[base], topDoc[base], topPos[base], v, doc, pos)) return;
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, m = i;
            float mv = v;
            int md = doc, mp = pos;
            if (l < topK && worse(topValue[base + l], topDoc[base + l], topPos[base + l], mv, md, mp)) {
                m = l; mv = topValue[base + l]; md = topDoc[base + l]; mp = topPos[base + l];
            }
            if (r < topK && worse(topValue[base + r], topDoc[base + r], topPos[base + r], mv, md, mp)) m = r;
            if (m == i) break;
            set(base + i, base + m);
            i = m;
        }
        put(base + i, v, doc, pos);
    }

    private void set(int to, int from) {
        topValue[to] = topValue[from];
        topDoc[to] = topDoc[from];
        topPos[to] = topPos[from];
    }

    private void put(int at, float v, int doc, int pos) {
        topValue[at] = v;
        topDoc[at] = doc;
        topPos[at] = pos;
    }

    /** The top examples of {@code f}, strongest first: indices into the top arrays. */
    int[] topOrder(int f) {
        int n = topCount[f], base = f * topK;
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = base + i;
        Arrays.sort(idx, (a, b) -> worse(topValue[a], topDoc[a], topPos[a], topValue[b], topDoc[b], topPos[b]) ? 1
                : worse(topValue[b], topDoc[b], topPos[b], topValue[a], topDoc[a], topPos[a]) ? -1 : 0);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = idx[i];
        return out;
    }

    private boolean inTop(int f, int doc, int pos) {
        int base = f * topK;
        int w = CorpusIndexer.windowOf(pos, context);
        for (int i = 0; i < topCount[f]; i++) {
            if (topDoc[base + i] == doc && CorpusIndexer.windowOf(topPos[base + i], context) == w) return true;
        }
        return false;
    }

    /** The quantile band of activation {@code v} of feature {@code f}: 0 (highest) .. quantiles-1. */
    int band(int f, float v) {
        int b = (int) Math.floor((1.0 - (double) v / max[f]) * quantiles);
        return Math.max(0, Math.min(quantiles - 1, b));
    }

    private void offerSample(int f, float v, int doc, int pos) {
        if (quantiles == 0 || perQuantile == 0) return;
        // Every window was offered to the top heap in the first pass: with fewer than topK windows all are top
        // examples, and only a window at least as strong as the weakest top example can be one.
        if (topCount[f] < topK) return;
        if (!worse(v, doc, pos, topValue[f * topK], topDoc[f * topK], topPos[f * topK]) && inTop(f, doc, pos)) return;
        int g = f * quantiles + band(f, v);
        int base = g * perQuantile;
        long key = mix(seed, f, doc, pos);
        int n = sampleCount[g];
        if (n < perQuantile) {
            sampleCount[g] = n + 1;
            putSample(base + n, key, v, doc, pos);
            return;
        }
        int worst = base;
        for (int i = base + 1; i < base + perQuantile; i++) if (sampleKey[i] > sampleKey[worst]) worst = i;
        if (key < sampleKey[worst]) putSample(worst, key, v, doc, pos);
    }

    private void putSample(int at, long key, float v, int doc, int pos) {
        sampleKey[at] = key;
        sampleValue[at] = v;
        sampleDoc[at] = doc;
        samplePos[at] = pos;
    }

    /** The samples of band {@code band} of {@code f}, strongest first: indices into the sample arrays. */
    int[] sampleOrder(int f, int band) {
        int g = f * quantiles + band, base = g * perQuantile, n = sampleCount[g];
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = base + i;
        Arrays.sort(idx, (a, b) -> worse(sampleValue[a], sampleDoc[a], samplePos[a], sampleValue[b], sampleDoc[b], samplePos[b]) ? 1
                : worse(sampleValue[b], sampleDoc[b], samplePos[b], sampleValue[a], sampleDoc[a], samplePos[a]) ? -1 : 0);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = idx[i];
        return out;
    }

    /** A seeded 64-bit hash of (feature, doc, pos): the sampling priority (SplitMix64 finaliser). */
    static long mix(long seed, int f, int doc, int pos) {
        long z = seed ^ (f * 0x9E3779B97F4A7C15L) ^ (((long) doc << 32 | (pos & 0xffffffffL)) * 0xC2B2AE3D27D4EB4FL);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return z & Long.MAX_VALUE;
    }
}
