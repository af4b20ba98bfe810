package dev.loupe.analysis;

/** One token of an example's context window, with the activation of the example's feature there (0 when inactive). */
public record ContextToken(int pos, int tokenId, String text, float activation) {}
