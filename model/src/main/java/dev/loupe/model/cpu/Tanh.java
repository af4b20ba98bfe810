package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * tanh from additions, multiplications, fused multiply-adds and one division, so it gives the same bits whether
 * the JIT has compiled it or not, vectorised or scalar. The Vector API's {@code lanewise(TANH)} does not: before
 * C2 compiles it, it is {@code Math.tanh} per lane; after, an intrinsic that differs in the last bit for about 1%
 * of inputs. Through the softcaps and GELU that made the same weights give logits that differed by run order
 * (by ~2e-5 after three layers of peaked attention), and the vector body and the scalar tail of a row disagree.
 *
 * <p>|x| &lt; 0.625: {@code x + x³·Q(x²)}, Q a degree-5 least-squares fit to (tanh x − x)/x³ (error under 1 ulp);
 * otherwise {@code 1 − 2/(e^{2|x|} + 1)}, e^y by Cody-Waite reduction to |r| ≤ ln2/2 and a degree-7 Taylor
 * polynomial; the sign is restored at the end. Within 3 ulp of {@code Math.tanh}.
 */
public final class Tanh {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float SMALL = 0.625f;
    private static final float Q0 = -0.3333333432674408f, Q1 = 0.13333310186862946f, Q2 = -0.05396048352122307f,
            Q3 = 0.02177685685455799f, Q4 = -0.0083656907081604f, Q5 = 0.002313994336873293f;
    /** e^{2|x|} is clamped here: tanh is 1 in float long before (|x| > 9.01). */
    private static final float MAX_EXP_ARG = 20f;
    private static final float INV_LN2 = 1.442695040888963f;
    /** ln 2 split so that k·LN2_HI is exact for the k that occur. */
    private static final float LN2_HI = 0.693145751953125f, LN2_LO = 1.428606765330187e-6f;
    private static final float E2 = 1f / 2, E3 = 1f / 6, E4 = 1f / 24, E5 = 1f / 120, E6 = 1f / 720, E7 = 1f / 5040;

    private Tanh() {}

    public static float of(float x) {
        float a = Math.abs(x);
        float t;
        if (a < SMALL) {
            float x2 = a * a;
            float q = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Q5, x2, Q4), x2, Q3), x2, Q2), x2, Q1), x2, Q0);
            t = Math.fma(a * x2, q, a);
        } else {
            float y = Math.min(a + a, MAX_EXP_ARG);
            float k = (float) (int) Math.fma(y, INV_LN2, 0.5f);
            float r = Math.fma(-k, LN2_LO, Math.fma(-k, LN2_HI, y));
            float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(E7, r, E6), r, E5), r, E4), r, E3), r, E2), r, 1f), r, 1f);
            float e = p * Float.intBitsToFloat(((int) k + 127) << 23);
            t = 1f - 2f / (e + 1f);
        }
        return x < 0 ? -t : t;
    }

    public static FloatVector of(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector x2 = a.mul(a);
        FloatVector q = x2.fma(Q5, Q4).fma(x2, FloatVector.broadcast(S, Q3)).fma(x2, FloatVector.broadcast(S, Q2))
                .fma(x2, FloatVector.broadcast(S, Q1)).fma(x2, FloatVector.broadcast(S, Q0));
        FloatVector small = a.mul(x2).fma(q, a);

        FloatVector y = a.add(a).min(MAX_EXP_ARG);
        FloatVector k = y.fma(INV_LN2, 0.5f).convert(VectorOperators.F2I, 0).convert(VectorOperators.I2F, 0).reinterpretAsFloats();
        FloatVector minusK = k.neg();
        FloatVector r = minusK.fma(FloatVector.broadcast(S, LN2_LO), minusK.fma(FloatVector.broadcast(S, LN2_HI), y));
        FloatVector p = r.fma(E7, E6).fma(r, FloatVector.broadcast(S, E5)).fma(r, FloatVector.broadcast(S, E4))
                .fma(r, FloatVector.broadcast(S, E3)).fma(r, FloatVector.broadcast(S, E2)).fma(r, FloatVector.broadcast(S, 1f))
                .fma(r, FloatVector.broadcast(S, 1f));
        FloatVector scale = k.convert(VectorOperators.F2I, 0).reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        FloatVector e = p.mul(scale);
        FloatVector large = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(e.add(1f)));

        FloatVector t = large.blend(small, a.compare(VectorOperators.LT, SMALL));
        VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
        return t.blend(t.neg(), negative);
    }
}
