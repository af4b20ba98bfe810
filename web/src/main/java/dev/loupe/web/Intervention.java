package dev.loupe.web;

import dev.loupe.sae.FeatureEdit;

/**
 * One change to a feature during a steered generation. Additive steering adds {@code strength·W_dec[f]} at the
 * SAE's hook point (Neuronpedia's method); clamping and ablation splice the SAE in with its error term and set
 * the feature's activation (Anthropic's method), so that the rest of the activation is left as it was.
 */
sealed interface Intervention {
    int feature();

    /** The value shown to the user (α, clamp value, multiple, or 0). */
    double strength();

    /** The API's name of this kind of intervention. */
    String mode();

    /** {@code +strength·W_dec[f]} at every position. */
    record Add(int feature, double strength) implements Intervention {
        public String mode() { return "add"; }
    }

    /** The feature's activation set to {@code strength} at every position. */
    record Clamp(int feature, double strength) implements Intervention {
        public String mode() { return "clamp"; }

        FeatureEdit edit() { return FeatureEdit.clamp(feature, (float) strength); }
    }

    /** The feature's activation set to {@code strength ×} its maximum over the corpus run. */
    record ClampToMax(int feature, double strength, float maxActivation) implements Intervention {
        public String mode() { return "clamp_max"; }

        FeatureEdit edit() { return FeatureEdit.clampToMaxMultiple(feature, (float) strength, maxActivation); }
    }

    /** The feature's activation set to 0. */
    record Ablate(int feature) implements Intervention {
        public double strength() { return 0; }

        public String mode() { return "ablate"; }

        FeatureEdit edit() { return FeatureEdit.ablate(feature); }
    }
}
