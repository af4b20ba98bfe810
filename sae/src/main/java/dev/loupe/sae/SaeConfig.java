package dev.loupe.sae;

import dev.loupe.errors.BadInputException;






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
 * @param outputHookName           where the reconstruction belongs: {@code hookName} for an SAE; for a transcoder the
 *                                 point it predicts (e.g. {@code hook_mlp_out} from {@code ln2.hook_normalized})
 * @param modelName                the model the SAE was trained on, as its files name it (null when unknown)
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
        String source,
        String outputHookName,
        String modelName) {

    /** An SAE (its reconstruction goes back where it reads) of an unnamed model. */
    public SaeConfig(String hookName, int dIn, int dSae, SaeArchitecture architecture, int k, boolean applyBDecToInput,
                     Normalization normalization, float normScalingFactor, float inputScale, float decoderScale,
                     boolean rescaleActsByDecoderNorm, String source) {
        this(hookName, dIn, dSae, architecture, k, applyBDecToInput, normalization, normScalingFactor, inputScale, decoderScale,
                rescaleActsByDecoderNorm, source, hookName, null);
    }

    public SaeConfig {
        if (dIn <= 0) throw new BadInputException(source + ": d_in must be positive, got " + dIn);
        if (dSae <= 0) throw new BadInputException(source + ": d_sae must be positive, got " + dSae);
        if (architecture == SaeArchitecture.TOPK && (k <= 0 || k > dSae)) {
            throw new BadInputException(source + ": topk needs 0 < k <= d_sae (" + dSae + "), got k = " + k);
        }
        if (!(normScalingFactor > 0) || !Float.isFinite(normScalingFactor)) {
            throw new BadInputException(source + ": norm scaling factor must be a positive number, got " + normScalingFactor);
        }
    }

    /** A Gemma Scope JumpReLU SAE reading {@code hookName}. */
    public static SaeConfig gemmaScope(String hookName, int dIn, int dSae, boolean embedding, String source) {
        float s = (float) Math.sqrt(dIn);
        return new SaeConfig(hookName, dIn, dSae, SaeArchitecture.JUMPRELU, 0, false, Normalization.NONE, 1f,
                embedding ? 1f / s : 1f, embedding ? s : 1f, false, source);
    }

    /** The same SAE attached at another hook point (an SAE's output moves with it; a transcoder's stays). */
    public SaeConfig withHook(String hook) {
        String out = transcoder() ? outputHookName : hook;
        return new SaeConfig(hook, dIn, dSae, architecture, k, applyBDecToInput, normalization, normScalingFactor,
                inputScale, decoderScale, rescaleActsByDecoderNorm, source, out, modelName);
    }

    /** True for a transcoder: it reads one hook point and predicts another. */
    public boolean transcoder() { return outputHookName != null && !outputHookName.equals(hookName); }
}
