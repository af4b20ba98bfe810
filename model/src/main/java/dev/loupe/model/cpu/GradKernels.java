package dev.loupe.model.cpu;

import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.RotaryTable;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The row kernels of the backward pass: for each element-wise or per-row forward kernel of {@link VecOps}, the
 * gradient of its inputs given the gradient of its output. Written like {@link VecOps} (Vector API bodies, scalar
 * tails in the same operation order) and called per row by {@link HeapBackend}, which splits rows across threads.
 */
final class GradKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);
    private static final float GELU_K = 0.044715f;

    private GradKernels() {}

    /**
     * One row of the RMSNorm gradient, {@code y = x · c · w} with {@code c = (mean(x²) + eps)^-1/2}:
     * {@code dx += c · (w ⊙ dy) − (c³ / n) · x · Σ(w ⊙ dy ⊙ x)}; the second term is dropped when {@code c} is
     * frozen. {@code dw} (when not null) gets {@code dy ⊙ x · c} added; several rows add to the same dw, so the
     * caller gives each thread its own.
     */
    static void rmsNorm(float[] x, int off, float[] w, float eps, float[] dy, int dyOff, boolean frozen, float[] dx, int dxOff,
                        float[] dw, int n) {
        double ss = 0, dot = 0;
        for (int i = 0; i < n; i++) {
            double xi = x[off + i];
            ss += xi * xi;
            dot += (double) w[i] * dy[dyOff + i] * xi;
        }
        double c = 1.0 / Math.sqrt(ss / n + eps);
        float cf = (float) c;
        float k = frozen ? 0f : (float) (c * c * c * dot / n);
        FloatVector vc = FloatVector.broadcast(S, cf), vk = FloatVector.broadcast(S, -k);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector xv = FloatVector.fromArray(S, x, off + i);
            FloatVector g = FloatVector.fromArray(S, dy, dyOff + i);
            FloatVector t = g.mul(FloatVector.fromArray(S, w, i)).mul(vc).add(xv.mul(vk));
            t.add(FloatVector.fromArray(S, dx, dxOff + i)).intoArray(dx, dxOff + i);
            if (dw != null) g.mul(xv).fma(vc, FloatVector.fromArray(S, dw, i)).intoArray(dw, i);
        }
        for (; i < n; i++) {
            float g = dy[dyOff + i], xi = x[off + i];
            dx[dxOff + i] += g * w[i] * cf + xi * -k;
            if (dw != null) dw[i] = Math.fma(g * xi, cf, dw[i]);
        }
    }

    /**
     * One row of the GeGLU gradient, {@code out = gelu(g) · u}: {@code du = dOut · gelu(g)},
     * {@code dg = dOut · u · gelu'(g)} with {@code gelu'(x) = ½(1 + t) + ½x(1 − t²) · C(1 + 3k x²)}, {@code t = tanh(C(x + k x³))}.
     */
    static void geglu(float[] gate, float[] up, float[] dOut, int off, float[] dGate, float[] dUp, int n) {
        FloatVector half = FloatVector.broadcast(S, 0.5f), one = FloatVector.broadcast(S, 1f);
        FloatVector c = FloatVector.broadcast(S, GELU_C), k = FloatVector.broadcast(S, GELU_K), k3 = FloatVector.broadcast(S, 3 * GELU_K);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, gate, off + i);
            FloatVector x2 = x.mul(x);
            FloatVector t = Tanh.of(x2.mul(x).fma(k, x).mul(c));
            FloatVector gelu = x.mul(half).mul(t.add(one));
            FloatVector dInner = x2.fma(k3, one).mul(c);
            FloatVector dGelu = t.add(one).mul(half).add(x.mul(half).mul(one.sub(t.mul(t))).mul(dInner));
            FloatVector g = FloatVector.fromArray(S, dOut, off + i);
            g.mul(gelu).intoArray(dUp, off + i);
            g.mul(FloatVector.fromArray(S, up, off + i)).mul(dGelu).intoArray(dGate, off + i);
        }
        for (; i < n; i++) {
            float x = gate[off + i], x2 = x * x;
            float t = Tanh.of(Math.fma(x2 * x, GELU_K, x) * GELU_C);
            float gelu = x * 0.5f * (t + 1f);
            float dGelu = (t + 1f) * 0.5f + x * 0.5f * (1f - t * t) * (Math.fma(x2, 3 * GELU_K, 1f) * GELU_C);
            float g = dOut[off + i];
            dUp[off + i] = g * gelu;
            dGate[off + i] = g * up[off + i] * dGelu;
        }
    }

    /** {@code dy *= 1 − (y / cap)²} over a range, y being the capped output. */
    static void softcap(float[] y, float[] dy, int off, int n, float cap) {
        float inv = 1f / cap;
        FloatVector vi = FloatVector.broadcast(S, inv), one = FloatVector.broadcast(S, 1f);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector t = FloatVector.fromArray(S, y, off + i).mul(vi);
            FloatVector.fromArray(S, dy, off + i).mul(one.sub(t.mul(t))).intoArray(dy, off + i);
        }
        for (; i < n; i++) {
            float t = y[off + i] * inv;
            dy[off + i] *= 1f - t * t;
        }
    }

    /** Rotates every head of row t back: the transpose of {@link VecOps#rotate}. */
    static void rotateBack(float[] x, int off, int heads, RotaryTable table, int t) {
        int half = table.half(), hd = 2 * half, tb = t * half;
        float[] cos = table.cos(), sin = table.sin();
        for (int h = 0; h < heads; h++) {
            int b = off + h * hd;
            for (int i = 0; i < half; i++) {
                float x1 = x[b + i], x2 = x[b + i + half];
                float c = cos[tb + i], s = sin[tb + i];
                x[b + i] = x1 * c + x2 * s;
                x[b + i + half] = x2 * c - x1 * s;
            }
        }
    }

    /**
     * Softmax gradient of one pattern row over its visible keys {@code [lo, hi]}, in place:
     * {@code d ← p ⊙ (d − Σ p·d)}; the masked entries become 0.
     */
    static void softmaxRow(float[] p, float[] d, int off, int nKeys, int lo, int hi) {
        double dot = 0;
        for (int j = lo; j <= hi; j++) dot += (double) p[off + j] * d[off + j];
        float s = (float) dot;
        for (int j = 0; j < lo; j++) d[off + j] = 0f;
        for (int j = lo; j <= hi; j++) d[off + j] = p[off + j] * (d[off + j] - s);
        for (int j = hi + 1; j < nKeys; j++) d[off + j] = 0f;
    }

    /**
     * {@code dq[t, h] += scale · Σ_j ds[h, t, j] · K[j, kvHead]} over the visible keys of query row t, after taking
     * the gradient through the softcap in place ({@code ds ← ds · (1 − (s/cap)²)}).
     */
    static void scoresToQuery(AttentionShape s, float[] scores, float[] ds, int rowOff, int lo, int hi, float[] keys, int kHeadOff,
                              float[] dq, int dqOff) {
        int hd = s.headDim(), kvDim = s.kvDim();
        float cap = s.softcap();
        for (int j = lo; j <= hi; j++) {
            float g = ds[rowOff + j];
            if (cap > 0) {
                float t = scores[rowOff + j] / cap;
                g *= 1f - t * t;
                ds[rowOff + j] = g;
            }
            if (g != 0f) VecOps.axpy(g * s.scale(), keys, j * kvDim + kHeadOff, dq, dqOff, hd);
        }
    }

    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) { VecOps.axpy(a, x, xOff, y, yOff, n); }

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) { return VecOps.dot(a, aOff, b, bOff, n); }
}
