package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
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
 *
 * <p>Both passes merge: runs of whole documents (the parts of a distributed run) can be scanned separately and
 * merged in any grouping with the same result as one scan over all of them. Counts, maxima and histograms add or
 * compare; the sum is an exact fixed-point integer (so addition is associative, which a floating-point sum is not);
 * the top-k heap and the quantile samples keep the best entries under a total order. The second pass needs the
 * merged first pass (each feature's global maximum and top examples) before it starts.
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
    /** Exact sums of the activations as 128-bit integers in units of 2^-{@value #SUM_SCALE}: [2f] high, [2f+1] low word. */
    final long[] sum;
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
        sum = new long[Math.multiplyExact(dSae, 2)];
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
        scanMoments(shards, allocator);
        scanSamples(shards, allocator);
    }

    /** The first pass (counts, sums, maxima, histograms, top examples) over shards of whole documents, in corpus order. */
    void scanMoments(List<Path> shards, BufferAllocator allocator) throws IOException {
        Arrays.fill(windowKey, -1);
        scan(shards, allocator, true);
        flushWindows(true);
    }

    /**
     * The second pass (quantile samples) over shards of whole documents; the first pass must hold the whole run's
     * result by then (the bands hang on each feature's maximum, and top examples are not sampled).
     */
    void scanSamples(List<Path> shards, BufferAllocator allocator) throws IOException {
        Arrays.fill(windowKey, -1);
        scan(shards, allocator, false);
        flushWindows(false);
    }

    // ---- merging ---------------------------------------------------------------------------------------

    /** Adds another part's first pass to this one: afterwards this holds the first pass over both. */
    void mergeMoments(FeatureStats other) {
        requireSameShape(other);
        for (int f = 0; f < dSae; f++) {
            fireCount[f] += other.fireCount[f];
            add128(sum, f, other.sum[2 * f], other.sum[2 * f + 1]);
            if (other.max[f] > max[f]) max[f] = other.max[f];
            int base = f * topK;
            for (int i = 0; i < other.topCount[f]; i++) offerTop(f, other.topValue[base + i], other.topDoc[base + i], other.topPos[base + i]);
        }
        for (int i = 0; i < hist.length; i++) hist[i] = Math.addExact(hist[i], other.hist[i]);
    }

    /** Adds another part's quantile samples (taken with the same first pass) to this one's. */
    void mergeSamples(FeatureStats other) {
        requireSameShape(other);
        for (int g = 0; g < sampleCount.length; g++) {
            int base = g * perQuantile;
            for (int i = 0; i < other.sampleCount[g]; i++) {
                int j = base + i;
                keepSample(g, other.sampleKey[j], other.sampleValue[j], other.sampleDoc[j], other.samplePos[j]);
            }
        }
    }

    /** Forgets the quantile samples (to take a part's own with a merged first pass). */
    void clearSamples() { Arrays.fill(sampleCount, 0); }

    private void requireSameShape(FeatureStats o) {
        if (o.dSae != dSae || o.topK != topK || o.quantiles != quantiles || o.perQuantile != perQuantile || o.context != context || o.seed != seed) {
            throw new IllegalArgumentException("feature statistics of different shapes cannot merge");
        }
    }

    // ---- the exact sum ---------------------------------------------------------------------------------

    /** Fixed-point scale of the sums: every float of magnitude 2^-40 or more is exact; smaller ones round per value. */
    static final int SUM_SCALE = 64;

    /** Adds float {@code v} to the 128-bit sum of feature {@code f}. */
    static void addExact(long[] sum, int f, float v) {
        double m = Math.scalb(Math.abs((double) v), SUM_SCALE);       // exact: a float's 24 bits fit a double
        double hiD = Math.floor(Math.scalb(m, -64));
        long hi = (long) hiD;                                         // saturates only for |v| >= 2^63
        double rest = Math.rint(m - Math.scalb(hiD, 64));             // the low 64 bits (exact up to the rounding of tiny values)
        long lo = rest >= 0x1p63 ? ((long) (rest - 0x1p63)) ^ Long.MIN_VALUE : (long) rest;
        if (v < 0) {                                                  // two's complement of (hi, lo)
            lo = -lo;
            hi = ~hi + (lo == 0 ? 1 : 0);
        }
        add128(sum, f, hi, lo);
    }

    private static void add128(long[] sum, int f, long hi, long lo) {
        long a = sum[2 * f + 1];
        long r = a + lo;
        sum[2 * f + 1] = r;
        sum[2 * f] += hi + (Long.compareUnsigned(r, a) < 0 ? 1 : 0);
    }

    /** The sum of feature {@code f}'s activations (one rounding, from the exact integer). */
    double sum(int f) {
        long hi = sum[2 * f], lo = sum[2 * f + 1];
        double unsignedLo = (double) (lo >>> 1) * 2 + (lo & 1);
        return Math.scalb((double) hi * 0x1p64 + unsignedLo, -SUM_SCALE);
    }

    /** The mean activation of feature {@code f} where it fires (0 when it never does). */
    float mean(int f) { return fireCount[f] == 0 ? 0f : (float) (sum(f) / fireCount[f]); }

    // ---- files (the parts' statistics of a distributed run) ---------------------------------------------

    private static final int MAGIC = 0x4c535431;   // "LST1"

    /** Writes the first pass (with {@code samples}, the quantile samples too) under a temporary name, then renames. */
    void write(Path file, boolean samples) throws IOException {
        dev.loupe.model.io.AtomicFiles.write(file, tmp -> writeTo(tmp, samples));
    }

    private void writeTo(Path tmp, boolean samples) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
            out.writeInt(MAGIC);
            out.writeInt(dSae);
            out.writeInt(topK);
            out.writeInt(quantiles);
            out.writeInt(perQuantile);
            out.writeBoolean(samples);
            for (long v : fireCount) out.writeLong(v);
            for (long v : sum) out.writeLong(v);
            for (float v : max) out.writeFloat(v);
            for (int v : hist) out.writeInt(v);
            for (int f = 0; f < dSae; f++) {
                out.writeInt(topCount[f]);
                for (int i = f * topK; i < f * topK + topCount[f]; i++) {
                    out.writeFloat(topValue[i]);
                    out.writeInt(topDoc[i]);
                    out.writeInt(topPos[i]);
                }
            }
            if (samples) {
                for (int g = 0; g < sampleCount.length; g++) {
                    out.writeInt(sampleCount[g]);
                    for (int i = g * perQuantile; i < g * perQuantile + sampleCount[g]; i++) {
                        out.writeLong(sampleKey[i]);
                        out.writeFloat(sampleValue[i]);
                        out.writeInt(sampleDoc[i]);
                        out.writeInt(samplePos[i]);
                    }
                }
            }
        }
    }

    /** Reads a file {@link #write} wrote, for an SAE of width {@code dSae} under options {@code o}. */
    static FeatureStats read(Path file, int dSae, IndexOptions o) throws IOException {
        FeatureStats st = new FeatureStats(dSae, o);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            if (in.readInt() != MAGIC || in.readInt() != dSae || in.readInt() != st.topK || in.readInt() != st.quantiles
                    || in.readInt() != st.perQuantile) {
                throw new IOException(file + ": not feature statistics of this run (width or example options differ)");
            }
            boolean samples = in.readBoolean();
            for (int i = 0; i < st.fireCount.length; i++) st.fireCount[i] = in.readLong();
            for (int i = 0; i < st.sum.length; i++) st.sum[i] = in.readLong();
            for (int i = 0; i < st.max.length; i++) st.max[i] = in.readFloat();
            for (int i = 0; i < st.hist.length; i++) st.hist[i] = in.readInt();
            for (int f = 0; f < dSae; f++) {
                st.topCount[f] = in.readInt();
                for (int i = f * st.topK; i < f * st.topK + st.topCount[f]; i++) {
                    st.topValue[i] = in.readFloat();
                    st.topDoc[i] = in.readInt();
                    st.topPos[i] = in.readInt();
                }
            }
            if (samples) {
                for (int g = 0; g < st.sampleCount.length; g++) {
                    st.sampleCount[g] = in.readInt();
                    for (int i = g * st.perQuantile; i < g * st.perQuantile + st.sampleCount[g]; i++) {
                        st.sampleKey[i] = in.readLong();
                        st.sampleValue[i] = in.readFloat();
                        st.sampleDoc[i] = in.readInt();
                        st.samplePos[i] = in.readInt();
                    }
                }
            }
        } catch (EOFException e) {
            throw new IOException(file + ": truncated feature statistics", e);
        }
        return st;
    }

    private void scan(List<Path> shards, BufferAllocator allocator, boolean first) throws IOException {
        for (Path shard : shards) {
            ArrowFiles.forEachBatch(shard, allocator, root -> {
                RunTables.Activations.Batch b = RunTables.Activations.Batch.read(root, shard);
                int[] doc = b.docId(), pos = b.pos(), feat = b.featureId();
                float[] act = b.activation();
                for (int i = 0; i < b.rows(); i++) {
                    int f = feat[i];
                    if (f < 0 || f >= dSae) throw new IOException(shard + ": feature_id " + f + " outside [0, " + dSae + ")");
                    int d = doc[i], p = pos[i];
                    float v = act[i];
                    if (first) {
                        fireCount[f]++;
                        addExact(sum, f, v);
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
            });
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
        keepSample(f * quantiles + band(f, v), mix(seed, f, doc, pos), v, doc, pos);
    }

    /**
     * Bottom-k sampling in group {@code g}: keeps the {@code perQuantile} smallest (key, doc, pos). A total order, so
     * the sample is the same whatever order the candidates arrive in (hash ties break by corpus position).
     */
    private void keepSample(int g, long key, float v, int doc, int pos) {
        int base = g * perQuantile;
        int n = sampleCount[g];
        if (n < perQuantile) {
            sampleCount[g] = n + 1;
            putSample(base + n, key, v, doc, pos);
            return;
        }
        int worst = base;
        for (int i = base + 1; i < base + perQuantile; i++) if (sampleBefore(worst, sampleKey[i], sampleDoc[i], samplePos[i])) worst = i;
        if (sampleBefore(worst, key, doc, pos)) return;
        putSample(worst, key, v, doc, pos);
    }

    /** Whether sample {@code i} comes before (key, doc, pos) in the sampling order. */
    private boolean sampleBefore(int i, long key, int doc, int pos) {
        if (sampleKey[i] != key) return sampleKey[i] < key;
        if (sampleDoc[i] != doc) return sampleDoc[i] < doc;
        return samplePos[i] < pos;
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
