package dev.loupe.sae.kernels;

import dev.loupe.errors.BadInputException;






/** The activation function of a sparse autoencoder, applied to {@code pre = x·W_enc + b_enc}. */
public sealed interface SaeActivation {

    /** Active where {@code pre > 0} and {@code pre > threshold[f]}; a null threshold is plain ReLU. */
    record JumpRelu(float[] threshold) implements SaeActivation {}

    /**
     * The {@code k} largest of {@code pre[f]·norms[f]} (norms null: of pre), kept when positive; reports the
     * scaled values.
     */
    record TopK(int k, float[] norms) implements SaeActivation {
        public TopK {
            if (k <= 0) throw new BadInputException("TopK needs k >= 1, got " + k);
        }
    }
}
