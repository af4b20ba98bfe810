package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The backward pass of each architecture against central finite differences of an independent double-precision
 * loss written here from the papers' definitions (selection held fixed, as a small step does not change it).
 * JumpReLU's threshold has no finite-difference gradient (the step function is flat almost everywhere), so it is
 * checked against the Gemma Scope pseudo-derivative evaluated here, and its L0 part also against finite
 * differences of the rectangle kernel's integral (a linear ramp of width ε).
 */
class GradientCheckTest {
    static final int D = 5, W = 7, B = 6;
    static Backend backend;

    @BeforeAll static void open() { backend = Backends.byName(Backends.CPU, 1); }

    @AfterAll static void close() { backend.close(); }

    /** The independent loss: which architecture, its coefficient, and the dead features for AuxK. */
    record Spec(String arch, int k, float coefficient, float bandwidth, boolean[] dead, int kAux, float auxWeight) {}

    static SaeParameters randomParams(boolean threshold, long seed) {
        Random r = new Random(seed);
        SaeParameters p = SaeParameters.zeros(D, W, threshold);
        for (SaeParameters.Named n : p.named()) for (int i = 0; i < n.values().length; i++) n.values()[i] = (float) (0.6 * r.nextGaussian());
        if (threshold) Arrays.fill(p.logThreshold(), (float) Math.log(0.3));
        return p;
    }

    static float[] randomX(long seed) {
        Random r = new Random(seed);
        float[] x = new float[B * D];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** Loss in double. {@code fixedXhat}: AuxK's target uses this constant reconstruction (null: compute it). */
    static double loss(Spec s, double[][] p, float[] x, double[] fixedXhat, double[] outXhat) {
        double[] encT = p[0], bEnc = p[1], dec = p[2], bDec = p[3];
        double[][] pre = new double[B][W];
        for (int b = 0; b < B; b++) {
            for (int f = 0; f < W; f++) {
                double v = bEnc[f];
                for (int i = 0; i < D; i++) v += (x[b * D + i] - bDec[i]) * encT[f * D + i];
                pre[b][f] = v;
            }
        }
        double[][] act = new double[B][W];
        double sparsity = 0;
        switch (s.arch) {
            case "standard" -> {
                for (int b = 0; b < B; b++) for (int f = 0; f < W; f++) {
                    act[b][f] = Math.max(0, pre[b][f]);
                    sparsity += s.coefficient / B * act[b][f] * norm(dec, f);
                }
            }
            case "jumprelu" -> {
                for (int b = 0; b < B; b++) for (int f = 0; f < W; f++) {
                    double t = Math.exp(p[4][f]);
                    if (pre[b][f] > t) {
                        act[b][f] = pre[b][f];
                        sparsity += s.coefficient / B;
                    }
                }
            }
            case "topk" -> {
                for (int b = 0; b < B; b++) {
                    Integer[] order = sorted(pre[b]);
                    for (int j = 0; j < s.k; j++) act[b][order[j]] = Math.max(0, pre[b][order[j]]);
                }
            }
            case "batchtopk" -> {
                List<double[]> all = new ArrayList<>();
                for (int b = 0; b < B; b++) for (int f = 0; f < W; f++) if (pre[b][f] > 0) all.add(new double[]{pre[b][f], b, f});
                all.sort((u, v) -> Double.compare(v[0], u[0]));
                for (int j = 0; j < Math.min(all.size(), s.k * B); j++) act[(int) all.get(j)[1]][(int) all.get(j)[2]] = all.get(j)[0];
            }
            default -> throw new IllegalArgumentException(s.arch);
        }
        double mse = 0;
        double[] xhat = new double[B * D];
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < D; i++) {
                double v = bDec[i];
                for (int f = 0; f < W; f++) v += act[b][f] * dec[f * D + i];
                xhat[b * D + i] = v;
                mse += (v - x[b * D + i]) * (v - x[b * D + i]);
            }
        }
        if (outXhat != null) System.arraycopy(xhat, 0, outXhat, 0, xhat.length);
        double aux = 0;
        if (s.dead != null) {
            int dead = 0;
            for (boolean d : s.dead) if (d) dead++;
            double c = s.auxWeight * Math.min(1.0, (double) dead / s.kAux);
            double[] base = fixedXhat != null ? fixedXhat : xhat;
            for (int b = 0; b < B; b++) {
                double[] masked = new double[W];
                Arrays.fill(masked, Double.NEGATIVE_INFINITY);
                for (int f = 0; f < W; f++) if (s.dead[f]) masked[f] = pre[b][f];
                Integer[] order = sorted(masked);
                double[] ehat = new double[D];
                for (int j = 0; j < Math.min(s.kAux, dead); j++) {
                    int f = order[j];
                    if (pre[b][f] > 0) for (int i = 0; i < D; i++) ehat[i] += pre[b][f] * dec[f * D + i];
                }
                for (int i = 0; i < D; i++) {
                    double diff = ehat[i] - (x[b * D + i] - base[b * D + i]);
                    aux += c * diff * diff / B;
                }
            }
        }
        return mse / B + sparsity + aux;
    }

    static double norm(double[] m, int f) {
        double s = 0;
        for (int i = 0; i < D; i++) s += m[f * D + i] * m[f * D + i];
        return Math.sqrt(s);
    }

    static Integer[] sorted(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(v[b], v[a]));
        return idx;
    }

    static double[][] toDouble(SaeParameters p) {
        List<SaeParameters.Named> n = p.named();
        double[][] out = new double[n.size()][];
        for (int t = 0; t < n.size(); t++) {
            float[] v = n.get(t).values();
            out[t] = new double[v.length];
            for (int i = 0; i < v.length; i++) out[t][i] = v[i];
        }
        return out;
    }

    /** Compares every gradient entry of the encoder, decoder and biases with central differences. */
    static void check(TrainingSae sae, Spec spec, float[] x) {
        double[][] base = toDouble(sae.parameters());
        sae.step(x, B);
        double[] xhat = new double[B * D];
        loss(spec, base, x, null, xhat);
        List<SaeParameters.Named> grads = sae.gradients().named();
        double h = 1e-5;
        for (int t = 0; t < 4; t++) {
            for (int i = 0; i < base[t].length; i++) {
                double keep = base[t][i];
                base[t][i] = keep + h;
                double up = loss(spec, base, x, xhat, null);
                base[t][i] = keep - h;
                double down = loss(spec, base, x, xhat, null);
                base[t][i] = keep;
                double fd = (up - down) / (2 * h);
                float got = grads.get(t).values()[i];
                assertEquals(fd, got, 2e-4 + 2e-3 * Math.abs(fd), spec.arch + " " + grads.get(t).name() + "[" + i + "]");
            }
        }
    }

    @Test void standard() {
        SaeParameters p = randomParams(false, 1);
        StandardTrainingSae sae = new StandardTrainingSae(p, backend);
        sae.setSparsityCoefficient(0.7f);
        check(sae, new Spec("standard", 0, 0.7f, 0, null, 0, 0), randomX(2));
    }

    @Test void topKWithAuxK() {
        SaeParameters p = randomParams(false, 3);
        TopKTrainingSae sae = new TopKTrainingSae(p, backend, 2, 2, 0.5f);
        boolean[] dead = {false, true, false, true, true, false, false};
        sae.setDead(dead);
        check(sae, new Spec("topk", 2, 0, 0, dead, 2, 0.5f), randomX(4));
    }

    @Test void batchTopK() {
        SaeParameters p = randomParams(false, 5);
        BatchTopKTrainingSae sae = new BatchTopKTrainingSae(p, backend, 2, 2, 0f);
        sae.setDead(new boolean[W]);
        check(sae, new Spec("batchtopk", 2, 0, 0, null, 2, 0), randomX(6));
    }

    @Test void jumpReluWeightsAndThreshold() {
        float lambda = 0.8f, eps = 1.0f;
        SaeParameters p = randomParams(true, 7);
        JumpReluTrainingSae sae = new JumpReluTrainingSae(p, backend, eps);
        sae.setSparsityCoefficient(lambda);
        float[] x = randomX(8);
        Spec spec = new Spec("jumprelu", 0, lambda, eps, null, 0, 0);
        double[][] base = toDouble(p);
        check(sae, spec, x);

        // Threshold: the pseudo-derivative, computed here in double.
        double[] xhat = new double[B * D];
        loss(spec, base, x, null, xhat);
        float[] gLog = sae.gradients().logThreshold();
        int windowPairs = 0;
        for (int f = 0; f < W; f++) {
            double t = Math.exp(base[4][f]), expected = 0;
            for (int b = 0; b < B; b++) {
                double pre = base[1][f];
                for (int i = 0; i < D; i++) pre += (x[b * D + i] - base[3][i]) * base[0][f * D + i];
                if (Math.abs(pre - t) >= eps / 2) continue;
                windowPairs++;
                double gradAct = 0;
                for (int i = 0; i < D; i++) gradAct += 2 * (xhat[b * D + i] - x[b * D + i]) / B * base[2][f * D + i];
                expected += t * (-(t / eps) * gradAct - lambda / B / eps);
            }
            assertEquals(expected, gLog[f], 1e-4 + 1e-3 * Math.abs(expected), "log_threshold[" + f + "]");
        }
        assertEquals(true, windowPairs > 3, "the check needs pairs inside the kernel window, got " + windowPairs);

        // The L0 part alone equals the derivative of λ/B·Σ ramp((pre − θ)/ε), the rectangle kernel's integral.
        SaeParameters q = randomParams(true, 7);
        JumpReluTrainingSae l0Only = new JumpReluTrainingSae(q, backend, eps);
        l0Only.setSparsityCoefficient(lambda);
        float[] gL0 = l0Gradient(l0Only, x, lambda);
        for (int f = 0; f < W; f++) {
            double h = 1e-6, logT = q.logThreshold()[f];
            double fd = (ramp(q, x, f, Math.exp(logT + h), lambda, eps) - ramp(q, x, f, Math.exp(logT - h), lambda, eps)) / (2 * h);
            assertEquals(fd, gL0[f], 1e-4 + 1e-3 * Math.abs(fd), "L0 part of log_threshold[" + f + "]");
        }
    }

    /** The threshold gradient of the L0 term alone: with a decoder of zeros the reconstruction term has none. */
    static float[] l0Gradient(JumpReluTrainingSae sae, float[] x, float lambda) {
        Arrays.fill(sae.parameters().decoder(), 0f);
        System.arraycopy(meanRow(x), 0, sae.parameters().bDec(), 0, D);
        sae.step(x, B);
        // With W_dec = 0 the reconstruction's threshold gradient vanishes: only the L0 part is left.
        return sae.gradients().logThreshold().clone();
    }

    static float[] meanRow(float[] x) {
        float[] m = new float[D];
        for (int b = 0; b < B; b++) for (int i = 0; i < D; i++) m[i] += x[b * D + i] / B;
        return m;
    }

    static double ramp(SaeParameters q, float[] x, int f, double t, float lambda, float eps) {
        double s = 0;
        for (int b = 0; b < B; b++) {
            double pre = q.bEnc()[f];
            for (int i = 0; i < D; i++) pre += (x[b * D + i] - q.bDec()[i]) * q.encoder()[f * D + i];
            s += Math.max(0, Math.min(1, (pre - t) / eps + 0.5));
        }
        return lambda / B * s;
    }
}
