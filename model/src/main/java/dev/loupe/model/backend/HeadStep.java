package dev.loupe.model.backend;

/**
 * The model's head over a chunk, for {@link Backend#head}: the final norm of the last {@code logitRows} of the
 * {@code rows} residual rows (into the same rows of {@code normed}), the tied unembedding, and the final softcap, into
 * {@code logits} {@code [logitRows, vocab]}. What {@code normed} holds in the other rows afterwards is unspecified.
 */
public record HeadStep(ActivationBuffer x, ActivationBuffer normed, int rows, int logitRows, ActivationBuffer logits) {}
