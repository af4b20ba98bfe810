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

    /** One row runs on this thread (a generation step), more across the pool. */
    private void rowsParallel(int rows, java.util.function.IntConsumer body) {
        if (rows == 1) body.accept(0);
        else parallelFor(rows, body);
    }
}
