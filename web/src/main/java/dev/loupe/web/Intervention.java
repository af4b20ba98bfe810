package dev.loupe.web;

import dev.loupe.sae.FeatureEdit;
import dev.loupe.sae.Steering;

/**
 * One change to a feature during a steered generation. The directional ones ({@link Directional}: add,
 * orthogonal decomposition, projection cap) edit the activation at the SAE's hook point along the feature's
 * decoder direction (Neuronpedia's methods); the feature edits ({@link Edit}: clamp, clamp to a multiple of the
 * max, ablate) splice the SAE in with its error term and set the feature's activation (Anthropic's method), so
 * that the rest of the activation is left as it was.
 */
sealed interface Intervention {
    int feature();

    /** The value shown to the user (α, cap, clamp value, multiple, or 0). */
    double strength();

    /** The API's name of this kind of intervention. */
    String mode();

    /** An edit along {@code W_dec[f]} by one of Neuronpedia's methods, with coefficient {@code multiplier × strength}. */
    sealed interface Directional extends Intervention {
        Steering.Method method();
    }

    /** An edit of the feature's activation inside the SAE splice. */
    sealed interface Edit extends Intervention {
        /** The edit, with clamp values scaled by the request's strength multiplier. */
        FeatureEdit edit(float multiplier);

        /** The activation the edit sets (before the SAE reads the edited residual again), given the multiplier. */
        default float target(float multiplier) { return edit(multiplier).apply(0f); }
    }

    /** {@code +strength·W_dec[f]} at every position. */
    record Add(int feature, double strength) implements Directional {
        public String mode() { return "add"; }

        public Steering.Method method() { return Steering.Method.SIMPLE_ADDITIVE; }
    }

    /** The component along {@code W_dec[f]} scaled by the strength: {@code (I − P)h + c·Ph}. */
    record Orthogonal(int feature, double strength) implements Directional {
        public String mode() { return "orthogonal_decomp"; }

        public Steering.Method method() { return Steering.Method.ORTHOGONAL_DECOMP; }
    }

    /** The projection on {@code W_dec[f]/|W_dec[f]|} capped at the strength. */
    record ProjectionCap(int feature, double strength) implements Directional {
        public String mode() { return "projection_cap"; }

        public Steering.Method method() { return Steering.Method.PROJECTION_CAP; }
    }

    /** The feature's activation set to {@code strength} at every position. */
    record Clamp(int feature, double strength) implements Edit {
        public String mode() { return "clamp"; }

        public FeatureEdit edit(float multiplier) { return FeatureEdit.clamp(feature, (float) (multiplier * strength)); }
    }

    /** The feature's activation set to {@code strength ×} its maximum over the corpus run. */
    record ClampToMax(int feature, double strength, float maxActivation) implements Edit {
        public String mode() { return "clamp_max"; }

        public FeatureEdit edit(float multiplier) { return FeatureEdit.clampToMaxMultiple(feature, (float) (multiplier * strength), maxActivation); }
    }

    /** The feature's activation set to 0. */
    record Ablate(int feature) implements Edit {
        public double strength() { return 0; }

        public String mode() { return "ablate"; }

        public FeatureEdit edit(float multiplier) { return FeatureEdit.ablate(feature); }
    }
}
