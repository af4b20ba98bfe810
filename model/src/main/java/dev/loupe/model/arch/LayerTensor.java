package dev.loupe.model.arch;

import dev.loupe.model.ModelConfig;

/**
 * The role of one per-layer tensor, whatever a format calls it. An {@link Architecture} says which roles its blocks
 * have and maps each to its name per format; loaders, writers, the backend's weight upload and the forward pass all
 * iterate that one list. Declared in forward order, matrices and norms interleaved, so a writer that keeps matrices
 * before norms keeps transformers' order for each.
 */
public enum LayerTensor {
    INPUT_NORM(Kind.NORM),
    Q(Kind.MATRIX),
    K(Kind.MATRIX),
    V(Kind.MATRIX),
    O(Kind.MATRIX),
    /** QK-norm (Gemma 3): RMSNorm over each query head, {@code head_dim} wide. */
    Q_NORM(Kind.HEAD_NORM),
    K_NORM(Kind.HEAD_NORM),
    /** The norm on the attention output (Gemma 2, 3); Gemma 1 has none. */
    POST_ATTENTION_NORM(Kind.NORM),
    /** The norm before the MLP (Gemma 1's HF name for it is {@code post_attention_layernorm}). */
    PRE_FEEDFORWARD_NORM(Kind.NORM),
    GATE(Kind.MATRIX),
    UP(Kind.MATRIX),
    DOWN(Kind.MATRIX),
    POST_FEEDFORWARD_NORM(Kind.NORM);

    /** How a role is stored: a matrix in stored precision, or a norm multiplier on the heap. */
    public enum Kind { MATRIX, NORM, HEAD_NORM }

    private final Kind kind;

    LayerTensor(Kind kind) { this.kind = kind; }

    public Kind kind() { return kind; }

    public boolean isMatrix() { return kind == Kind.MATRIX; }

    /** {@code [rows, cols]} of a matrix (nn.Linear's {@code [out, in]}), {@code [width]} of a norm. */
    public long[] shape(ModelConfig c) {
        long h = c.hiddenSize(), inter = c.intermediateSize();
        return switch (this) {
            case Q -> new long[]{c.qDim(), h};
            case K, V -> new long[]{c.kvDim(), h};
            case O -> new long[]{h, c.qDim()};
            case GATE, UP -> new long[]{inter, h};
            case DOWN -> new long[]{h, inter};
            case Q_NORM, K_NORM -> new long[]{c.headDim()};
            case INPUT_NORM, POST_ATTENTION_NORM, PRE_FEEDFORWARD_NORM, POST_FEEDFORWARD_NORM -> new long[]{h};
        };
    }
}
