package dev.loupe.sae;

import dev.loupe.errors.BadInputException;






/**
 * A change to one feature's activation inside an SAE splice. With the error term kept, the model sees its own
 * activation plus {@code (new − old)·W_dec[f]}: Anthropic's clamping method.
 */
public sealed interface FeatureEdit {
    int feature();

    /** The feature's new activation given its current one. */
    float apply(float current);

    /** Sets the feature to {@code value} at every position, active or not. */
    record Clamp(int feature, float value) implements FeatureEdit {
        public float apply(float current) { return value; }
    }

    /** Sets the feature to 0 at every position. */
    record Ablate(int feature) implements FeatureEdit {
        public float apply(float current) { return 0f; }
    }

    /** Multiplies the feature's activation where it fires. */
    record Scale(int feature, float factor) implements FeatureEdit {
        public float apply(float current) { return current * factor; }
    }

    static FeatureEdit clamp(int feature, float value) { return new Clamp(feature, value); }

    /** Clamp to {@code multiple} times the feature's maximum activation (from a corpus run or Neuronpedia). */
    static FeatureEdit clampToMaxMultiple(int feature, float multiple, float maxActivation) {
        if (!(maxActivation > 0)) throw new BadInputException("feature " + feature + ": max activation must be positive, got " + maxActivation);
        return new Clamp(feature, multiple * maxActivation);
    }

    static FeatureEdit ablate(int feature) { return new Ablate(feature); }

    static FeatureEdit scale(int feature, float factor) { return new Scale(feature, factor); }
}
