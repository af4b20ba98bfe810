package dev.loupe.model.cpu;

import dev.loupe.model.backend.RotaryTable;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Element-wise and reduction kernels on activation rows (the small, non-matmul work of a layer). */
final class VecOps {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);

    private VecOps() {}

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /**
     * Lane sum in a fixed order. {@code reduceLanes(ADD)} may add in one order when interpreted and in
     * another once compiled, which made identical runs differ in the last bits.
     */
    static float sumLanes(FloatVector v) {
        float sum = 0;
        for (int i = 0; i < S.length(); i++) sum += v.lane(i);
        return sum;
    }

    /** {@code y[yOff..] += a · x[xOff..]} over n values. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(S, a);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
    }

    /** {@code y[..] += x[..]}. */
    static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).add(FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += x[xOff + i];
    }

    /**
     * RMSNorm of one row: {@code out = x / sqrt(mean(x²) + eps) · w}, where {@code w} is the full multiplier
     * (already 1 + w for HF checkpoints). Lane partial sums are added in double, in a fixed order.
     */
    static void rmsNorm(float[] x, int xOff, float[] w, float eps, float[] out, int outOff, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, xOff + i);
            acc = v.fma(v, acc);
        }
        double ss = 0;
        for (int l = 0; l < S.length(); l++) ss += acc.lane(l);
        for (; i < n; i++) ss += (double) x[xOff + i] * x[xOff + i];
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        FloatVector vs = FloatVector.broadcast(S, scale);
        i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).mul(vs).mul(FloatVector.fromArray(S, w, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = x[xOff + i] * scale * w[i];
    }

    /** {@code gate[i] = gelu_tanh(gate[i]) · up[i]} (GeGLU with the tanh-approximate GELU, exact formula). */
    static void gegluInPlace(float[] gate, float[] up, int off, int n) {
        FloatVector half = FloatVector.broadcast(S, 0.5f);
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector c = FloatVector.broadcast(S, GELU_C);
        FloatVector k = FloatVector.broadcast(S, 0.044715f);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, gate, off + i);
            FloatVector inner = x.mul(x).mul(x).fma(k, x).mul(c);
            FloatVector g = x.mul(half).mul(Tanh.of(inner).add(one));
            g.mul(FloatVector.fromArray(S, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) gate[off + i] = gelu(gate[off + i]) * up[off + i];
    }

    /** The vector body's operations in the same order, so a row's tail rounds as its body does. */
    static float gelu(float x) {
        float inner = Math.fma(x * x * x, 0.044715f, x) * GELU_C;
        return x * 0.5f * (Tanh.of(inner) + 1f);
    }

    /** {@code x = cap · tanh(x / cap)} over a range; cap 0 leaves x alone. */
    static void softcap(float[] x, int off, int n, float cap) {
        if (cap <= 0) return;
        FloatVector vc = FloatVector.broadcast(S, cap);
        FloatVector inv = FloatVector.broadcast(S, 1f / cap);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            Tanh.of(FloatVector.fromArray(S, x, off + i).mul(inv)).mul(vc).intoArray(x, off + i);
        }
        float invCap = 1f / cap;
        for (; i < n; i++) x[off + i] = Tanh.of(x[off + i] * invCap) * cap;
    }

    static void scale(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i++) x[off + i] *= s;
    }

    static void softmax(float[] s, int off, int len) {
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

    /** Rotates every head of row t of {@code x} (heads·headDim wide, starting at off) in place. */
    static void rotate(float[] x, int off, int heads, RotaryTable table, int t) {
        int half = table.half(), hd = 2 * half, tb = t * half;
        float[] cos = table.cos(), sin = table.sin();
        for (int h = 0; h < heads; h++) {
            int b = off + h * hd;
            for (int i = 0; i < half; i++) {
                float x1 = x[b + i], x2 = x[b + i + half];
                float c = cos[tb + i], s = sin[tb + i];
                x[b + i] = x1 * c - x2 * s;
                x[b + i + half] = x2 * c + x1 * s;
            }
        }
    }
}
