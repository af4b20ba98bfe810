package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VecOpsTailTest {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Softcap and GeGLU rows of every length: the scalar tail computes what the vector body would. */
    @Test
    void softcapAndGegluTailsMatchTheirBodies() {
        int n = 3 * S.length();
        float[] x = new float[n + S.length()];
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble(-80, 80);
        float[] whole = x.clone();
        VecOps.softcap(whole, 0, x.length, 30f);
        for (int len = 1; len < S.length(); len++) {
            float[] part = x.clone();
            // Offset len puts different elements in the tail than in the whole-row call.
            VecOps.softcap(part, len, x.length - len, 30f);
            for (int i = len; i < x.length; i++) assertEquals(whole[i], part[i], 0f, "len " + len + " element " + i);
        }
        float[] up = new float[x.length];
        for (int i = 0; i < up.length; i++) up[i] = (float) r.nextDouble(-2, 2);
        float[] g = new float[x.length];
        for (int i = 0; i < x.length; i++) g[i] = x[i] / 20;
        float[] gWhole = g.clone();
        VecOps.gegluInPlace(gWhole, up, 0, x.length);
        for (int len = 1; len < S.length(); len++) {
            float[] part = g.clone();
            VecOps.gegluInPlace(part, up, len, x.length - len);
            for (int i = len; i < x.length; i++) assertEquals(gWhole[i], part[i], 0f, "geglu len " + len + " element " + i);
        }
        for (int i = 0; i < x.length; i++) {
            double exact = 0.5 * g[i] * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g[i] + 0.044715 * g[i] * g[i] * g[i]))) * up[i];
            assertEquals(exact, gWhole[i], 1e-6 * Math.max(1, Math.abs(exact)), "geglu element " + i);
        }
    }
}
