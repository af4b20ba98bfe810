package dev.loupe.sae;

import dev.loupe.hooks.ActivationCache;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.GradientResult;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.grad.Metric;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SAE feature and error attributions through the spliced SAE against float64 PyTorch autograd
 * ({@code tiny-a/grad/sae_attr}), within the manifest's float32 tolerance (3e-4 of each tensor's largest value).
 */
class FeatureAttributionTest {
    static final double TOL = 3e-4;
    static Model model;
    static Sae sae;
    static int[] tokens;
    static Path ref;

    @BeforeAll
    static void load() {
        model = Model.load(Fixtures.file("tiny-a/hf"), 2);
        sae = SaeFixture.load();
        ref = Fixtures.file("tiny-a/grad/sae_attr");
        tokens = Fixtures.npy(Fixtures.file("tiny-a/grad/tokens.npy")).ints();
    }

    @AfterAll
    static void close() {
        model.close();
        sae.close();
    }

    @Test
    void featureAndErrorAttributionsMatchAutograd() {
        FeatureAttribution a = FeatureAttribution.compute(model, sae, tokens, Metric.logitDiff(), Linearization.NONE);
        assertEquals(1.9833147071576391, a.metric(), 2e-4);
        assertClose("feature_acts.npy", a.activations());
        assertClose("grad_f.npy", a.gradients());
        assertClose("attribution.npy", a.attribution());
        assertClose("error_attribution.npy", a.errorAttribution());
        assertClose("b_dec_attribution.npy", a.biasAttribution());
        assertComplete(a, Linearization.NONE);
    }

    @Test
    void linearizedAttributionsMatchAutograd() {
        FeatureAttribution a = FeatureAttribution.compute(model, sae, tokens, Metric.logitDiff(Metric.LAST, 104, 178), Linearization.ATTRIBUTION);
        assertClose("linearized/grad_f.npy", a.gradients());
        assertClose("linearized/attribution.npy", a.attribution());
        assertClose("linearized/error_attribution.npy", a.errorAttribution());
        assertClose("linearized/b_dec_attribution.npy", a.biasAttribution());
        assertComplete(a, Linearization.ATTRIBUTION);
    }

    @Test
    void errorTermAndInputGradientThroughTheSplice() {
        String hook = SaeFixture.HOOK, error = SaeSplice.Point.ERROR.at(hook);
        ActivationCache forward = new ActivationCache();
        SaeSplice splice = SaeSplice.of(sae).withErrorTerm(true);
        GradientResult g = model.gradients(tokens, GradientRequest.of(Metric.logitDiff())
                .withHooks(splice.hookSet().with(forward.hooksFor(java.util.List.of(error)))).capturing(hook));
        assertClose("error.npy", forward.get(error).data());
        assertClose("grad_x.npy", g.gradient(hook).data());
    }

    /** Σ_f attribution + error + b_dec share = x · grad_x per position (the fixture's completeness identity). */
    private void assertComplete(FeatureAttribution a, Linearization lin) {
        int d = sae.dIn();
        float[] x = model.run(tokens, dev.loupe.model.RunOptions.caching(SaeFixture.HOOK)).cache().get(SaeFixture.HOOK).data();
        GradientResult g = model.gradients(tokens, GradientRequest.of(Metric.logitDiff((int) a.details().get("position"),
                (int) a.details().get("target"), (int) a.details().get("baseline"))).capturing(SaeFixture.HOOK)
                .linearized(lin));
        float[] gx = g.gradient(SaeFixture.HOOK).data();
        for (int p = 0; p < a.positions(); p++) {
            double lhs = 0, sum = a.errorAttribution()[p] + a.biasAttribution()[p];
            for (int i = 0; i < d; i++) lhs += (double) x[p * d + i] * gx[p * d + i];
            for (int f = 0; f < a.dSae(); f++) sum += a.attribution()[p * a.dSae() + f];
            assertEquals(lhs, sum, 1e-3 * Math.max(1, Math.abs(lhs)), "completeness at position " + p);
        }
    }

    private void assertClose(String file, float[] got) {
        Npy.Array r = Fixtures.npy(ref.resolve(file));
        assertEquals(r.size(), got.length, file);
        double max = 0, diff = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(r.data()[i]));
            diff = Math.max(diff, Math.abs(r.data()[i] - got[i]));
        }
        assertTrue(diff <= TOL * max, file + ": max |diff| " + diff + " exceeds " + TOL + " × " + max);
    }
}
