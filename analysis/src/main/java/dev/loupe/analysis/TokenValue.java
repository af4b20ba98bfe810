package dev.loupe.analysis;

/** A vocabulary token with a value (a logit-table entry: {@code W_dec[f] · W_U[id]}). */
public record TokenValue(int id, String text, float value) {}
