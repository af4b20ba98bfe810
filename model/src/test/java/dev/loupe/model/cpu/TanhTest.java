package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TanhTest {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Inputs over the range the softcaps and GELU see, both sides of the 0.625 switch, tiny and saturated ones. */
    private static float[] inputs() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[S.length() * 4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i % 4) {
                case 0 -> (float) r.nextDouble(-12, 12);
                case 1 -> (float) r.nextDouble(-1, 1);
                case 2 -> (float) (r.nextDouble(-1e-3, 1e-3));
                default -> Math.nextAfter(0.625f, r.nextBoolean() ? 0 : 1) * (r.nextBoolean() ? 1 : -1);
            };
        }
        return x;
    }

    private static float[] vector(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += S.length()) Tanh.of(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        return y;
    }

    @Test
    void withinThreeUlpOfMathTanh() {
        for (float x : inputs()) {
            float expected = (float) Math.tanh(x), got = Tanh.of(x);
            assertTrue(Math.abs(got - expected) <= 3 * Math.ulp(expected), () -> "tanh(" + x + ") = " + got + ", expected " + expected);
        }
        assertEquals(1f, Tanh.of(30f));
        assertEquals(-1f, Tanh.of(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(Tanh.of(Float.NaN)));
    }

    /** The same bits vectorised or scalar (a row's body and tail), and before and after the JIT compiles it. */
    @Test
    void vectorAndScalarAgreeBitForBitWhateverTheJitDid() {
        float[] x = inputs();
        float[] first = vector(x);
        for (int i = 0; i < x.length; i++) assertEquals(Tanh.of(x[i]), first[i], 0f, "x = " + x[i]);
        for (int round = 0; round < 300; round++) vector(x);
        float[] later = vector(x);
        for (int i = 0; i < x.length; i++) assertEquals(first[i], later[i], 0f, "x = " + x[i]);
    }
}
