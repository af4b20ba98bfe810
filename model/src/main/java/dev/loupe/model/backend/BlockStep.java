package dev.loupe.model.backend;

/**
 * A transformer block, or one half of it, over a chunk, for {@link Backend#block}: the layer (whose weights, norms,
 * window and RoPE the backend learnt in {@link Backend#prepare}), the chunk's first position and size, the forward
 * pass's working buffers, and this layer's KV cache, which gets the chunk's keys and values at {@code [p0, p0 + rows)}.
 *
 * @param span     the whole block, or its attention or MLP half
 * @param x        the residual stream {@code [rows, hidden]}: the span's input, replaced by its output
 * @param scratch  the forward pass's other working buffers; their contents afterwards are unspecified
 */
public record BlockStep(int layer, Span span, int p0, int rows, ActivationBuffer x, Scratch scratch, ActivationBuffer keys,
                        ActivationBuffer values) {

    /**
     * What of the block: all of it; the attention half (input norm to the first residual add, the KV-cache write
     * included); or the MLP half (pre-feedforward norm to the second residual add). The halves meet at the middle
     * residual ({@code hook_resid_mid}).
     */
    public enum Span { WHOLE, ATTENTION, MLP }

    /** The working buffers of a forward pass, each sized for the chunk: normed residual, q/k/v, z, projection, gate/up. */
    public record Scratch(ActivationBuffer xn, ActivationBuffer q, ActivationBuffer k, ActivationBuffer v, ActivationBuffer z,
                          ActivationBuffer proj, ActivationBuffer gate, ActivationBuffer up) {}
}
