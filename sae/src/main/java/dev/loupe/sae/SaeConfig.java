package dev.loupe.sae;

/**
 * What an SAE reads and how it computes, independent of where its weights live.
 *
 * @param hookName                 the hook point whose activation the SAE reads, e.g. {@code blocks.20.hook_resid_post}
 *                                 (null when neither the folder nor the config says; then it must be given)
 * @param dIn                      input width (d_model, or n_heads·d_head for {@code attn.hook_z})
 * @param dSae                     number of features
 * @param architecture             activation function
 * @param k                        features kept per position by {@link SaeArchitecture#TOPK} (0 otherwise)
 * @param applyBDecToInput         subtract {@code b_dec} from the input before encoding (SAELens default; not Gemma Scope)
 * @param normalization            run-time input normalisation
 * @param normScalingFactor        the factor of {@link Normalization#EXPECTED_AVERAGE_ONLY_IN} (1 otherwise)
 * @param inputScale               factor applied to the (b_dec-subtracted) input before {@code W_enc}; SAELens folds
 *                                 {@code 1/sqrt(d_in)} into Gemma Scope embedding SAEs' {@code W_enc}
 * @param decoderScale             factor applied to {@code f·W_dec} (before {@code b_dec}); {@code sqrt(d_in)} for embedding SAEs
 * @param rescaleActsByDecoderNorm TopK: rank {@code pre·‖W_dec[f]‖} and divide by the norm before decoding
 * @param source                   where the SAE came from, for messages
 */
public record SaeConfig(
        String hookName,
        int dIn,
        int dSae,
        SaeArchitecture architecture,
        int k,
        boolean applyBDecToInput,
        Normalization normalization,
        float normScalingFactor,
        float inputScale,
        float decoderScale,
        boolean rescaleActsByDecoderNorm,
        String source) {

    public SaeConfig {
        if (dIn <= 0) throw new IllegalArgumentException(source + ": d_in must be positive, got " + dIn);
        if (dSae <= 0) throw new IllegalArgumentException(source + ": d_sae must be positive, got " + dSae);
        if (architecture == SaeArchitecture.TOPK && (k <= 0 || k > dSae)) {
            throw new IllegalArgumentException(source + ": topk needs 0 < k <= d_sae (" + dSae + "), got k = " + k);
        }
        if (!(normScalingFactor > 0) || !Float.isFinite(normScalingFactor)) {
            throw new IllegalArgumentException(source + ": norm scaling factor must be a positive number, got " + normScalingFactor);
        }
    }

    /** A Gemma Scope JumpReLU SAE reading {@code hookName}. */
    public static SaeConfig gemmaScope(String hookName, int dIn, int dSae, boolean embedding, String source) {
        float s = (float) Math.sqrt(dIn);
        return new SaeConfig(hookName, dIn, dSae, SaeArchitecture.JUMPRELU, 0, false, Normalization.NONE, 1f,
                embedding ? 1f / s : 1f, embedding ? s : 1f, false, source);
    }

    /** The same SAE attached at another hook point. */
    public SaeConfig withHook(String hook) {
        return new SaeConfig(hook, dIn, dSae, architecture, k, applyBDecToInput, normalization, normScalingFactor,
                inputScale, decoderScale, rescaleActsByDecoderNorm, source);
    }
}
