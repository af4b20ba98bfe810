package dev.loupe.model.forward;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * tanh from IEEE float arithmetic alone (add, mul, fma, div, conversions), so it gives the same bits interpreted
 * and JIT-compiled. {@code lanewise(TANH)} and {@code Math.tanh} do not: C2 swaps in SVML or libm stubs whose last
 * bits differ from the interpreter's, so a forward pass changed once warm, and a corpus run resumed in a fresh JVM
 * could not reproduce the files of one that ran through. Accuracy: a few float ulps.
 *
 * <p>For |x| below 0.3 an odd Taylor polynomial (to x^11); above, {@code 1 - 2/(e^{2|x|} + 1)} with {@code e^y}
 * from range reduction {@code y = k·ln2 + r} and a degree-7 polynomial in r; |x| is clamped to 9, where tanh is 1
 * in float.
 */
final class Tanh {
    private Tanh() {}

    private static final float SMALL = 0.3f, CLAMP = 9f;
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693145752f, LN2_LO = 1.42860677e-6f;
    // e^r Taylor coefficients 1/n!
    private static final float E2 = 1f / 2, E3 = 1f / 6, E4 = 1f / 24, E5 = 1f / 120, E6 = 1f / 720, E7 = 1f / 5040;
    // tanh Taylor coefficients: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - 1382x^11/155925
    private static final float T3 = -1f / 3, T5 = 2f / 15, T7 = -17f / 315, T9 = 62f / 2835, T11 = -1382f / 155925;

    static float tanh(float x) {
        float a = Math.min(Math.abs(x), CLAMP);
        float t;
        if (a < SMALL) {
            float a2 = a * a;
            float p = Math.fma(a2, T11, T9);
            p = Math.fma(a2, p, T7);
            p = Math.fma(a2, p, T5);
            p = Math.fma(a2, p, T3);
            t = Math.fma(a * a2, p, a);
        } else {
            float y = 2f * a;
            int k = (int) Math.fma(y, LOG2E, 0.5f);
            float kf = k;
            float r = Math.fma(-kf, LN2_LO, Math.fma(-kf, LN2_HI, y));
            float p = Math.fma(r, E7, E6);
            p = Math.fma(r, p, E5);
            p = Math.fma(r, p, E4);
            p = Math.fma(r, p, E3);
            p = Math.fma(r, p, E2);
            p = Math.fma(r, p, 1f);
            p = Math.fma(r, p, 1f);
            float e = p * Float.intBitsToFloat((k + 127) << 23);
            t = 1f - 2f / (e + 1f);
        }
        return x < 0 ? -t : t;
    }

    static FloatVector tanh(FloatVector x) {
        VectorSpecies<Float> sp = x.species();
        FloatVector a = x.abs().min(CLAMP);
        FloatVector a2 = a.mul(a);
        FloatVector p = a2.fma(T11, T9);
        p = a2.fma(p, FloatVector.broadcast(sp, T7));
        p = a2.fma(p, FloatVector.broadcast(sp, T5));
        p = a2.fma(p, FloatVector.broadcast(sp, T3));
        FloatVector small = a.mul(a2).fma(p, a);

        FloatVector y = a.mul(2f);
        IntVector k = (IntVector) y.fma(LOG2E, 0.5f).convert(VectorOperators.F2I, 0);
        FloatVector kf = (FloatVector) k.convert(VectorOperators.I2F, 0);
        FloatVector r = kf.neg().fma(FloatVector.broadcast(sp, LN2_LO), kf.neg().fma(FloatVector.broadcast(sp, LN2_HI), y));
        FloatVector q = r.fma(E7, E6);
        q = r.fma(q, FloatVector.broadcast(sp, E5));
        q = r.fma(q, FloatVector.broadcast(sp, E4));
        q = r.fma(q, FloatVector.broadcast(sp, E3));
        q = r.fma(q, FloatVector.broadcast(sp, E2));
        q = r.fma(q, FloatVector.broadcast(sp, 1f));
        q = r.fma(q, FloatVector.broadcast(sp, 1f));
        FloatVector scale = k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector e = q.mul(scale);
        FloatVector large = FloatVector.broadcast(sp, 1f).sub(FloatVector.broadcast(sp, 2f).div(e.add(1f)));
        FloatVector t = large.blend(small, a.lt(SMALL));
        VectorMask<Float> negative = x.lt(0f);
        return t.blend(t.neg(), negative);
    }
}
