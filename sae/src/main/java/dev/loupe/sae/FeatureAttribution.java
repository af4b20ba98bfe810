package dev.loupe.sae;

import dev.loupe.hooks.ActivationCache;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.GradientResult;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.grad.Metric;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Which SAE features made the model say what it said (Marks et al., "Sparse Feature Circuits"): with the SAE spliced
 * in at its hook, error term kept, the attribution of feature {@code i} at position {@code p} is
 * {@code f[p, i] · d metric / d f[p, i]}, and the error node's is {@code err[p] · d metric / d err[p]}. With the
 * decoder bias's share, they add up to {@code x · d metric / d x} at every position.
 *
 * @param hook               where the SAE is spliced
 * @param positions          prompt length
 * @param dSae               SAE width
 * @param activations        {@code f} {@code [positions, dSae]}
 * @param gradients          {@code d metric / d f} {@code [positions, dSae]}, for inactive features too
 * @param attribution        {@code f ⊙ d metric / d f} {@code [positions, dSae]}
 * @param errorAttribution   {@code Σ_d err · d metric / d err} {@code [positions]}
 * @param biasAttribution    {@code Σ_d b_dec · d metric / d x} {@code [positions]} (the decoder bias's share)
 * @param metric             the metric's value
 * @param details            what the metric resolved (target, baseline, position)
 */
public record FeatureAttribution(String hook, int positions, int dSae, float[] activations, float[] gradients, float[] attribution,
                                 float[] errorAttribution, float[] biasAttribution, double metric, Map<String, Object> details) {

    /** One feature at one position with its attribution. */
    public record Entry(int position, int feature, float activation, float attribution) {}

    /** Runs the attribution of {@code metric} over {@code tokens} to the features of {@code sae}, spliced at its hook. */
    public static FeatureAttribution compute(Model model, Sae sae, int[] tokens, Metric metric, Linearization linearization) {
        String hook = sae.hookName();
        String acts = SaeSplice.Point.ACTS_POST.at(hook), error = SaeSplice.Point.ERROR.at(hook);
        SaeSplice splice = SaeSplice.of(sae).withErrorTerm(true);
        ActivationCache forward = new ActivationCache();
        HookSet hooks = splice.hookSet().with(forward.hooksFor(List.of(acts, error)));
        GradientResult g = model.gradients(tokens, GradientRequest.of(metric).withHooks(hooks).capturing(acts, error, hook)
                .linearized(linearization));
        int n = tokens.length, dSae = sae.dSae(), d = sae.dIn();
        float[] f = forward.get(acts).data(), gf = g.gradient(acts).data();
        float[] err = forward.get(error).data(), gErr = g.gradient(error).data(), gx = g.gradient(hook).data();
        float[] attribution = new float[f.length];
        for (int i = 0; i < f.length; i++) attribution[i] = f[i] * gf[i];
        float[] errorAttr = new float[n], biasAttr = new float[n];
        float[] bDec = sae.bDecArray();
        for (int p = 0; p < n; p++) {
            double e = 0, b = 0;
            for (int i = 0; i < d; i++) {
                e += (double) err[p * d + i] * gErr[p * d + i];
                b += (double) bDec[i] * gx[p * d + i];
            }
            errorAttr[p] = (float) e;
            biasAttr[p] = (float) b;
        }
        return new FeatureAttribution(hook, n, dSae, f, gf, attribution, errorAttr, biasAttr, g.value(), g.details());
    }

    /** The {@code k} (position, feature) pairs of largest |attribution|, largest first. */
    public List<Entry> top(int k) {
        List<Entry> all = new ArrayList<>();
        for (int i = 0; i < attribution.length; i++) {
            if (attribution[i] != 0f) all.add(new Entry(i / dSae, i % dSae, activations[i], attribution[i]));
        }
        all.sort(Comparator.comparingDouble((Entry e) -> -Math.abs(e.attribution())));
        return all.subList(0, Math.min(k, all.size()));
    }

    /** Each feature's attribution summed over positions {@code [dSae]}. */
    public float[] byFeature() {
        float[] out = new float[dSae];
        for (int i = 0; i < attribution.length; i++) out[i % dSae] += attribution[i];
        return out;
    }
}
