package dev.loupe.sae;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookPoints;
import dev.loupe.model.io.Npy;
import dev.loupe.sae.metrics.SaeEvaluator;
import dev.loupe.sae.metrics.SaeMetrics;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The evaluator's wiring on a one-layer stand-in model: token t's activation at the SAE hook is row t of the
 * fixture's SAE input and logits are that activation times a fixed unembedding. Expected values come from the
 * metric functions applied to independently computed logits.
 */
class SaeEvaluatorTest {
    private static final int VOCAB = 40, D = 64;

    @Test void metricsOfAStandInModel() {
        Npy.Array x = SaeFixture.npy("sae_input.npy");
        float[] unembed = new float[D * VOCAB];
        for (int i = 0; i < unembed.length; i++) unembed[i] = (float) Math.sin(i * 0.7) * 0.05f;
        HookPoints points = new HookPoints(4);
        int hookId = points.id(SaeFixture.HOOK);
        SaeEvaluator.Model model = (tokens, hooks) -> {
            BoundHooks bound = hooks.bind(points);
            float[] act = new float[tokens.length * D];
            for (int p = 0; p < tokens.length; p++) System.arraycopy(x.data(), tokens[p] * D, act, p * D, D);
            bound.fire(hookId, new Activation(SaeFixture.HOOK, new int[]{tokens.length, D}, act, 0));
            return logits(act, tokens.length, unembed);
        };
        int[] seq = new int[VOCAB];
        for (int i = 0; i < VOCAB; i++) seq[i] = i;
        try (Sae sae = SaeFixture.load()) {
            SaeEvaluator.Report r = SaeEvaluator.evaluate(model, VOCAB, sae, List.of(seq), Set.of(0));

            float[] recon = SaeFixture.npy("reconstruction.npy").data();
            float[] xs = Arrays.copyOfRange(x.data(), D, VOCAB * D), rs = Arrays.copyOfRange(recon, D, VOCAB * D);
            assertEquals(SaeFixture.manifest().get("fvu_excluding_bos_position0").asDouble(), r.fvu(), 1e-4);
            assertEquals(SaeMetrics.mse(xs, rs), r.mse(), 1e-5);
            int[] l0 = SaeFixture.npy("l0.npy").ints();
            assertEquals(SaeMetrics.meanL0(Arrays.copyOfRange(l0, 1, VOCAB)), r.l0(), 1e-12);
            assertEquals(VOCAB - 1, r.reconstructionPositions());
            assertEquals(VOCAB, r.tokens());

            float[] clean = logits(x.data(), VOCAB, unembed), withSae = logits(recon, VOCAB, unembed), zero = new float[VOCAB * VOCAB];
            assertEquals(SaeMetrics.crossEntropy(clean, VOCAB, seq), r.ceLossWithoutSae(), 1e-6);
            assertEquals(SaeMetrics.crossEntropy(withSae, VOCAB, seq), r.ceLossWithSae(), 1e-4);
            assertEquals(Math.log(VOCAB), r.ceLossWithAblation(), 1e-6);
            double kl = Arrays.stream(SaeMetrics.klDivergencePerPosition(clean, withSae, VOCAB)).average().orElseThrow();
            assertEquals(kl, r.klDivWithSae(), 1e-4);
            double klZero = Arrays.stream(SaeMetrics.klDivergencePerPosition(clean, zero, VOCAB)).average().orElseThrow();
            assertEquals(klZero, r.klDivWithAblation(), 1e-6);
            assertEquals(SaeMetrics.ceLossScore(r.ceLossWithoutSae(), r.ceLossWithSae(), r.ceLossWithAblation()), r.ceLossScore(), 1e-12);
            assertEquals(13, r.asMap().size());
        }
    }

    private static float[] logits(float[] act, int n, float[] unembed) {
        float[] out = new float[n * VOCAB];
        for (int p = 0; p < n; p++) {
            for (int v = 0; v < VOCAB; v++) {
                double s = 0;
                for (int i = 0; i < D; i++) s += (double) act[p * D + i] * unembed[i * VOCAB + v];
                out[p * VOCAB + v] = (float) s;
            }
        }
        return out;
    }
}
