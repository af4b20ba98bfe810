package dev.loupe.analysis;

/** A feature near another by the cosine similarity of their decoder rows. */
public record Neighbour(int featureId, float cosine) {}
