package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;

import java.util.ArrayList;
import java.util.List;

/**
 * The trainable tensors of an SAE, on the heap. The encoder is kept as {@code W_enc} transposed,
 * {@code [width, dIn]}, so that both the encoder and the decoder are read and updated a feature row at a time;
 * it is written out as SAELens's {@code W_enc [dIn, width]}.
 *
 * @param encoder      {@code W_enc^T [width, dIn]}
 * @param bEnc         {@code [width]}
 * @param decoder      {@code W_dec [width, dIn]}
 * @param bDec         {@code [dIn]}
 * @param logThreshold JumpReLU's {@code log θ [width]} (trained in log space, as SAELens does), null otherwise
 */
public record SaeParameters(int dIn, int width, float[] encoder, float[] bEnc, float[] decoder, float[] bDec, float[] logThreshold) {
    public SaeParameters {
        if (dIn < 1) throw new BadInputException("d_in must be at least 1, got " + dIn);
        if (width < 1) throw new BadInputException("SAE width must be at least 1, got " + width);
        long matrix = (long) dIn * width;
        if (matrix > Integer.MAX_VALUE - 8) {
            throw new BadInputException("SAE of " + width + " × " + dIn + " is too large to train on the heap");
        }
        if (encoder.length != matrix || decoder.length != matrix || bEnc.length != width || bDec.length != dIn
                || (logThreshold != null && logThreshold.length != width)) {
            throw new IllegalArgumentException("SAE parameters do not match " + width + " features × " + dIn + " inputs");
        }
    }

    public static SaeParameters zeros(int dIn, int width, boolean threshold) {
        return new SaeParameters(dIn, width, new float[dIn * width], new float[width], new float[dIn * width], new float[dIn],
                threshold ? new float[width] : null);
    }

    /** Zeroed tensors of the same shapes (gradients, optimizer moments). */
    public SaeParameters zerosLike() { return zeros(dIn, width, logThreshold != null); }

    /** Names (as stored in checkpoints) and arrays, in a fixed order. */
    public List<Named> named() {
        List<Named> out = new ArrayList<>(List.of(new Named("W_enc_T", encoder), new Named("b_enc", bEnc),
                new Named("W_dec", decoder), new Named("b_dec", bDec)));
        if (logThreshold != null) out.add(new Named("log_threshold", logThreshold));
        return out;
    }

    public record Named(String name, float[] values) {}
}
