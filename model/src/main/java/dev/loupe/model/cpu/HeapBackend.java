package dev.loupe.model.cpu;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.HostBuffer;
import dev.loupe.model.backend.RotaryTable;
import dev.loupe.model.tensor.WeightTensor;

import java.util.Arrays;

/**
 * The activation operations of a {@link Backend} on heap arrays ({@link HostBuffer}), with the Vector API kernels
 * of {@link VecOps}, split across rows with {@link #parallelFor}. Subclasses supply the matrix products and the
 * threads: {@link CpuBackend} (blocked Vector API kernels on a worker pool), or a scalar oracle in tests.
 * Moving a buffer to the host costs nothing here: {@link HostBuffer#toHost()} is the array itself.
 */
public abstract class HeapBackend implements Backend {
    private final ThreadLocal<float[]> scoreScratch = ThreadLocal.withInitial(() -> new float[256]);

    protected HeapBackend() {}

    static float[] array(ActivationBuffer b) {
        if (b instanceof HostBuffer h) return h.array();
        throw new IllegalArgumentException("a heap backend got a " + b.getClass().getSimpleName() + ", not a heap buffer");
    }

    @Override
    public ActivationBuffer allocate(int floats) { return new HostBuffer(floats); }

    @Override
    public void copy(ActivationBuffer src, int srcOff, ActivationBuffer dst, int dstOff, int n) {
        System.arraycopy(array(src), srcOff, array(dst), dstOff, n);
    }

    @Override
    public void embed(WeightTensor table, int[] tokens, float scale, ActivationBuffer out) {
        float[] x = array(out);
        int d = table.cols();
        for (int t = 0; t < tokens.length; t++) {
            table.readRow(tokens[t], x, t * d);
            VecOps.scale(x, t * d, d, scale);
        }
    }

    @Override
    public void matmul(WeightTensor w, ActivationBuffer x, int xRow, int rows, ActivationBuffer out) {
        matmul(w, array(x), xRow * w.cols(), rows, array(out), 0);
    }

    @Override
    public void rmsNorm(ActivationBuffer x, float[] weight, float eps, int rows, ActivationBuffer out) {
        float[] in = array(x), o = array(out);
        int d = weight.length;
        rowsParallel(rows, t -> VecOps.rmsNorm(in, t * d, weight, eps, o, t * d, d));
    }

    @Override
    public void rope(ActivationBuffer x, int heads, RotaryTable table) {
        float[] a = array(x);
        int width = heads * table.headDim();
        rowsParallel(table.rows(), t -> VecOps.rotate(a, t * width, heads, table, t));
    }

    @Override
    public void attention(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, ActivationBuffer values, int p0, int rows,
                          ActivationBuffer z) {
        float[] qa = array(q), k = array(keys), v = array(values), za = array(z);
        int hd = s.headDim(), qDim = s.qDim(), kvDim = s.kvDim(), group = s.group();
        parallelFor(s.heads() * rows, idx -> {
            int h = idx / rows, t = idx % rows;
            int qi = p0 + t;
            int lo = s.firstVisible(qi);
            int len = qi - lo + 1;
            float[] sc = scoreScratch.get();
            if (sc.length < len) { sc = new float[Math.max(len, 2 * sc.length)]; scoreScratch.set(sc); }
            scoreRange(s, qa, t * qDim + h * hd, k, (h / group) * hd, lo, len, sc, 0);
            VecOps.softmax(sc, 0, len);
            weightedSum(s, sc, 0, lo, len, v, (h / group) * hd, za, t * qDim + h * hd);
        });
    }

    @Override
    public void attentionScores(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, int p0, int rows, ActivationBuffer scores) {
        float[] qa = array(q), k = array(keys), sc = array(scores);
        int nKeys = p0 + rows, hd = s.headDim(), group = s.group();
        parallelFor(s.heads() * rows, idx -> {
            int h = idx / rows, t = idx % rows;
            scoreRange(s, qa, t * s.qDim() + h * hd, k, (h / group) * hd, 0, nKeys, sc, idx * nKeys);
        });
    }

    @Override
    public void attentionSoftmax(AttentionShape s, ActivationBuffer scores, int p0, int rows) {
        float[] sc = array(scores);
        int nKeys = p0 + rows;
        parallelFor(s.heads() * rows, idx -> {
            int qi = p0 + idx % rows;
            int lo = s.firstVisible(qi);
            int off = idx * nKeys;
            Arrays.fill(sc, off, off + lo, 0f);
            Arrays.fill(sc, off + qi + 1, off + nKeys, 0f);
            VecOps.softmax(sc, off + lo, qi - lo + 1);
        });
    }

    @Override
    public void attentionMix(AttentionShape s, ActivationBuffer pattern, ActivationBuffer values, int p0, int rows, ActivationBuffer z) {
        float[] p = array(pattern), v = array(values), za = array(z);
        int nKeys = p0 + rows, hd = s.headDim(), group = s.group();
        parallelFor(s.heads() * rows, idx -> {
            int h = idx / rows, t = idx % rows;
            weightedSum(s, p, idx * nKeys, 0, nKeys, v, (h / group) * hd, za, t * s.qDim() + h * hd);
        });
    }

    /** Scaled, soft-capped scores of one query against keys [from, from+len) into dst[dstOff..]. */
    private static void scoreRange(AttentionShape s, float[] q, int qOff, float[] keys, int kHeadOff, int from, int len,
                                   float[] dst, int dstOff) {
        int hd = s.headDim(), kvDim = s.kvDim();
        for (int j = 0; j < len; j++) {
            dst[dstOff + j] = VecOps.dot(q, qOff, keys, (from + j) * kvDim + kHeadOff, hd) * s.scale();
        }
        VecOps.softcap(dst, dstOff, len, s.softcap());
    }

    /** z[zOff..zOff+hd) = Σ_j p[pOff+j] · V[from+j]. */
    private static void weightedSum(AttentionShape s, float[] p, int pOff, int from, int len, float[] values, int vHeadOff,
                                    float[] z, int zOff) {
        int hd = s.headDim(), kvDim = s.kvDim();
        Arrays.fill(z, zOff, zOff + hd, 0f);
        for (int j = 0; j < len; j++) {
            float pj = p[pOff + j];
            if (pj != 0f) VecOps.axpy(pj, values, (from + j) * kvDim + vHeadOff, z, zOff, hd);
        }
    }

    @Override
    public void geglu(ActivationBuffer gate, ActivationBuffer up, int rows, int width) {
        float[] g = array(gate), u = array(up);
        rowsParallel(rows, t -> VecOps.gegluInPlace(g, u, t * width, width));
    }

    @Override
    public void add(ActivationBuffer src, ActivationBuffer dst, int n) {
        VecOps.add(array(src), 0, array(dst), 0, n);
    }

    @Override
    public void softcap(ActivationBuffer x, int rows, int width, float cap) {
        if (cap <= 0) return;
        float[] a = array(x);
        parallelFor(rows, r -> VecOps.softcap(a, r * width, width, cap));
    }

    @Override
    public void matmulBackward(WeightTensor w, ActivationBuffer dy, int rows, ActivationBuffer dx) {
        // dy · W with W [out, in] is the [inDim, outDim] product of matmulKn, W's rows being the summed index.
        matmulKn(w, array(dy), 0, rows, array(dx), 0);
    }

    @Override
    public void matmulWeightGradient(ActivationBuffer dy, ActivationBuffer x, int xRow, int rows, int outDim, int inDim,
                                     ActivationBuffer dW) {
        float[] g = array(dy), xa = array(x), out = array(dW);
        // dy transposed once, so that each output row o reads its rows·1 coefficients contiguously.
        float[] gt = new float[outDim * rows];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < outDim; o++) gt[o * rows + r] = g[r * outDim + o];
        }
        int x0 = xRow * inDim;
        parallelFor(outDim, o -> {
            for (int r = 0; r < rows; r++) {
                float a = gt[o * rows + r];
                if (a != 0f) GradKernels.axpy(a, xa, x0 + r * inDim, out, o * inDim, inDim);
            }
        });
    }

    @Override
    public void rmsNormBackward(ActivationBuffer x, float[] weight, float eps, int rows, ActivationBuffer dy, boolean frozenScale,
                                ActivationBuffer dx, ActivationBuffer dWeight) {
        float[] in = array(x), g = array(dy), out = array(dx);
        int d = weight.length;
        if (dWeight == null) {
            rowsParallel(rows, t -> GradKernels.rmsNorm(in, t * d, weight, eps, g, t * d, frozenScale, out, t * d, null, d));
        } else {
            // Every row adds to the same weight gradient: one thread, rows in order (d·rows work, small beside the products).
            float[] dw = array(dWeight);
            for (int t = 0; t < rows; t++) GradKernels.rmsNorm(in, t * d, weight, eps, g, t * d, frozenScale, out, t * d, dw, d);
        }
    }

    @Override
    public void ropeBackward(ActivationBuffer dx, int heads, RotaryTable table) {
        float[] a = array(dx);
        int width = heads * table.headDim();
        rowsParallel(table.rows(), t -> GradKernels.rotateBack(a, t * width, heads, table, t));
    }

    @Override
    public void attentionMixBackward(AttentionShape s, ActivationBuffer pattern, ActivationBuffer values, ActivationBuffer dz, int p0,
                                     int rows, ActivationBuffer dPattern, ActivationBuffer dValues) {
        float[] p = array(pattern), v = array(values), g = array(dz), dp = array(dPattern), dv = array(dValues);
        int nKeys = p0 + rows, hd = s.headDim(), qDim = s.qDim(), kvDim = s.kvDim(), group = s.group();
        parallelFor(s.heads() * rows, idx -> {
            int h = idx / rows, t = idx % rows, qi = p0 + t, lo = s.firstVisible(qi), off = idx * nKeys;
            int vHead = (h / group) * hd, zOff = t * qDim + h * hd;
            Arrays.fill(dp, off, off + lo, 0f);
            for (int j = lo; j <= qi; j++) dp[off + j] = GradKernels.dot(g, zOff, v, j * kvDim + vHead, hd);
            Arrays.fill(dp, off + qi + 1, off + nKeys, 0f);
        });
        // Each key row of V gathers from every query of its group's heads: one task per (kv head, key), no shared writes.
        parallelFor(s.kvHeads() * nKeys, idx -> {
            int kvh = idx / nKeys, j = idx % nKeys, dvOff = j * kvDim + kvh * hd;
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = Math.max(0, j - p0); t < rows; t++) {
                    float a = p[(h * rows + t) * nKeys + j];
                    if (a != 0f) GradKernels.axpy(a, g, t * qDim + h * hd, dv, dvOff, hd);
                }
            }
        });
    }

    @Override
    public void attentionSoftmaxBackward(AttentionShape s, ActivationBuffer pattern, ActivationBuffer dPattern, int p0, int rows) {
        float[] p = array(pattern), d = array(dPattern);
        int nKeys = p0 + rows;
        parallelFor(s.heads() * rows, idx -> {
            int qi = p0 + idx % rows;
            GradKernels.softmaxRow(p, d, idx * nKeys, nKeys, s.firstVisible(qi), qi);
        });
    }

    @Override
    public void attentionScoresBackward(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, ActivationBuffer scores,
                                        ActivationBuffer dScores, int p0, int rows, ActivationBuffer dq, ActivationBuffer dKeys) {
        float[] qa = array(q), k = array(keys), sc = array(scores), ds = array(dScores), dqa = array(dq), dk = array(dKeys);
        int nKeys = p0 + rows, hd = s.headDim(), qDim = s.qDim(), kvDim = s.kvDim(), group = s.group();
        // Queries first: this also takes ds through the softcap, in place, for the keys' pass below.
        parallelFor(s.heads() * rows, idx -> {
            int h = idx / rows, t = idx % rows, qi = p0 + t;
            GradKernels.scoresToQuery(s, sc, ds, idx * nKeys, s.firstVisible(qi), qi, k, (h / group) * hd, dqa, t * qDim + h * hd);
        });
        parallelFor(s.kvHeads() * nKeys, idx -> {
            int kvh = idx / nKeys, j = idx % nKeys, dkOff = j * kvDim + kvh * hd;
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                for (int t = Math.max(0, j - p0); t < rows; t++) {
                    int qi = p0 + t;
                    if (j < s.firstVisible(qi)) continue;
                    float a = ds[(h * rows + t) * nKeys + j];
                    if (a != 0f) GradKernels.axpy(a * s.scale(), qa, t * qDim + h * hd, dk, dkOff, hd);
                }
            }
        });
    }

    @Override
    public void gegluBackward(ActivationBuffer gatePre, ActivationBuffer up, ActivationBuffer dOut, int rows, int width,
                              ActivationBuffer dGate, ActivationBuffer dUp) {
        float[] g = array(gatePre), u = array(up), d = array(dOut), dg = array(dGate), du = array(dUp);
        rowsParallel(rows, t -> GradKernels.geglu(g, u, d, t * width, dg, du, width));
    }

    @Override
    public void softcapBackward(ActivationBuffer y, ActivationBuffer dy, int rows, int width, float cap) {
        if (cap <= 0) return;
        float[] ya = array(y), d = array(dy);
        parallelFor(rows, r -> GradKernels.softcap(ya, d, r * width, width, cap));
    }

    @Override
    public void embedBackward(int[] tokens, float scale, ActivationBuffer dy, int width, ActivationBuffer dTable) {
        float[] g = array(dy), out = array(dTable);
        // In order on one thread: a token that occurs twice adds to the same row.
        for (int t = 0; t < tokens.length; t++) GradKernels.axpy(scale, g, t * width, out, tokens[t] * width, width);
    }

    /** One row runs on this thread (a generation step), more across the pool. */
    private void rowsParallel(int rows, java.util.function.IntConsumer body) {
        if (rows == 1) body.accept(0);
        else parallelFor(rows, body);
    }
}
