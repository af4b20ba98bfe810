package dev.loupe.sae.kernels;

import dev.loupe.model.tensor.WeightTensor;

/**
 * An SAE encoder as the backend sees it: {@code pre = x·W_enc + bias}, then {@code activation}. {@code W_enc} is
 * {@code [dIn, dSae]} (Gemma Scope's layout) or, when {@code transposed}, {@code [dSae, dIn]}. {@code bias} may
 * be empty when the caller has already added it.
 */
public record SaeEncoding(WeightTensor encoder, boolean transposed, float[] bias, SaeActivation activation) {
    public int dIn() { return transposed ? encoder.cols() : encoder.rows(); }

    public int dSae() { return transposed ? encoder.rows() : encoder.cols(); }
}
