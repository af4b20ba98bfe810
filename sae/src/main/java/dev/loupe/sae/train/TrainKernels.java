package dev.loupe.sae.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The row kernels of SAE training (dot products and row updates of width d_in), on the Vector API. */
final class TrainKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private TrainKernels() {}

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        // A fixed lane order keeps identical runs identical (reduceLanes may reorder once compiled).
        float sum = 0;
        for (int l = 0; l < S.length(); l++) sum += acc.lane(l);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** {@code y += a·x}. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(S, a);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).fma(av, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
    }

    /** {@code y = x − b} for one row. */
    static void subtract(float[] x, int xOff, float[] b, float[] y, int yOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).sub(FloatVector.fromArray(S, b, i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] = x[xOff + i] - b[i];
    }

    /**
     * One Adam step on {@code p[from, to)} with bias-corrected step size {@code stepSize = lr·sqrt(1−β2^t)/(1−β1^t)};
     * the gradient is read and then cleared for the next batch.
     */
    static void adam(float[] p, float[] g, float[] m, float[] v, int from, int to, float beta1, float beta2,
                     float stepSize, float epsHat) {
        FloatVector b1 = FloatVector.broadcast(S, beta1), c1 = FloatVector.broadcast(S, 1 - beta1);
        FloatVector b2 = FloatVector.broadcast(S, beta2), c2 = FloatVector.broadcast(S, 1 - beta2);
        FloatVector step = FloatVector.broadcast(S, stepSize), eps = FloatVector.broadcast(S, epsHat);
        FloatVector zero = FloatVector.zero(S);
        int i = from;
        for (int bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
            FloatVector gv = FloatVector.fromArray(S, g, i);
            FloatVector mv = FloatVector.fromArray(S, m, i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(S, v, i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            FloatVector.fromArray(S, p, i).sub(mv.mul(step).div(vv.sqrt().add(eps))).intoArray(p, i);
            zero.intoArray(g, i);
        }
        for (; i < to; i++) {
            float gi = g[i];
            m[i] = beta1 * m[i] + (1 - beta1) * gi;
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
            p[i] -= stepSize * m[i] / ((float) Math.sqrt(v[i]) + epsHat);
            g[i] = 0;
        }
    }
}
