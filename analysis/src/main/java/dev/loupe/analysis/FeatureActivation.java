package dev.loupe.analysis;

/** A feature and its activation (at a token, or the maximum over a text). */
public record FeatureActivation(int featureId, float activation) {}
