package dev.loupe.model.forward;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookPoints;
import dev.loupe.model.Gemma2Config;
import dev.loupe.model.backend.Backend;

/**
 * Grouped-query attention for a chunk of queries against every cached key: scores scaled by
 * {@code query_pre_attn_scalar^-0.5}, soft-capped, then masked (causal, plus the sliding window on even
 * layers), softmax, weighted sum of values. When a hook watches the scores or the pattern, the full
 * {@code [heads, queries, keys]} tensors are materialised so the hook can read or replace them; otherwise
 * each (head, query) works in a per-thread scratch row over just its visible keys.
 */
final class Attention {
    private final Gemma2Config c;
    private final Backend be;
    private final float scale;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[256]);

    Attention(Gemma2Config c, Backend be) {
        this.c = c;
        this.be = be;
        this.scale = (float) (1.0 / Math.sqrt(c.queryPreAttnScalar()));
    }

    void compute(int layer, float[] q, float[] keys, float[] values, int p0, int rows, float[] z,
                 BoundHooks hooks, int scoresId, int patternId, HookPoints points) {
        int heads = c.numHeads(), hd = c.headDim(), qDim = c.qDim(), kvDim = c.kvDim(), group = c.headsPerKv();
        int nKeys = p0 + rows;
        int window = c.isSliding(layer) ? c.slidingWindow() : Integer.MAX_VALUE;

        if (hooks.active(scoresId) || hooks.active(patternId)) {
            float[] scores = new float[heads * rows * nKeys];
            be.parallelFor(heads * rows, idx -> {
                int h = idx / rows, t = idx % rows;
                scoreRange(q, t * qDim + h * hd, keys, (h / group) * hd, kvDim, 0, nKeys, scores, idx * nKeys);
            });
            if (hooks.active(scoresId)) {
                hooks.fire(scoresId, new Activation(points.name(scoresId), new int[]{heads, rows, nKeys}, scores, p0));
            }
            be.parallelFor(heads * rows, idx -> {
                int t = idx % rows;
                int qi = p0 + t;
                int lo = Math.max(0, qi - window + 1);
                int off = idx * nKeys;
                for (int j = 0; j < lo; j++) scores[off + j] = 0;
                for (int j = qi + 1; j < nKeys; j++) scores[off + j] = 0;
                softmax(scores, off + lo, qi - lo + 1);
            });
            if (hooks.active(patternId)) {
                hooks.fire(patternId, new Activation(points.name(patternId), new int[]{heads, rows, nKeys}, scores, p0));
            }
            be.parallelFor(heads * rows, idx -> {
                int h = idx / rows, t = idx % rows;
                weightedSum(scores, idx * nKeys, 0, nKeys, values, (h / group) * hd, kvDim, z, t * qDim + h * hd);
            });
            return;
        }

        be.parallelFor(heads * rows, idx -> {
            int h = idx / rows, t = idx % rows;
            int qi = p0 + t;
            int lo = Math.max(0, qi - window + 1);
            int len = qi - lo + 1;
            float[] s = scratch.get();
            if (s.length < len) { s = new float[Math.max(len, 2 * s.length)]; scratch.set(s); }
            scoreRange(q, t * qDim + h * hd, keys, (h / group) * hd, kvDim, lo, len, s, 0);
            softmax(s, 0, len);
            weightedSum(s, 0, lo, len, values, (h / group) * hd, kvDim, z, t * qDim + h * hd);
        });
    }

    /** Scaled, soft-capped scores of one query against keys [from, from+len) into dst[dstOff..]. */
    private void scoreRange(float[] q, int qOff, float[] keys, int kHeadOff, int kvDim, int from, int len,
                            float[] dst, int dstOff) {
        int hd = c.headDim();
        for (int j = 0; j < len; j++) {
            dst[dstOff + j] = VecOps.dot(q, qOff, keys, (from + j) * kvDim + kHeadOff, hd) * scale;
        }
        VecOps.softcap(dst, dstOff, len, c.attnSoftcap());
    }

    private static void softmax(float[] s, int off, int len) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) max = Math.max(max, s[off + j]);
        double sum = 0;
        for (int j = 0; j < len; j++) {
            float e = (float) Math.exp(s[off + j] - max);
            s[off + j] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int j = 0; j < len; j++) s[off + j] *= inv;
    }

    /** z[zOff..zOff+hd) = Σ_j p[pOff+j] · V[from+j]. */
    private void weightedSum(float[] p, int pOff, int from, int len, float[] values, int vHeadOff, int kvDim,
                             float[] z, int zOff) {
        int hd = c.headDim();
        java.util.Arrays.fill(z, zOff, zOff + hd, 0f);
        for (int j = 0; j < len; j++) {
            float pj = p[pOff + j];
            if (pj != 0f) VecOps.axpy(pj, values, (from + j) * kvDim + vHeadOff, z, zOff, hd);
        }
    }
}
