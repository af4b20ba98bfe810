package dev.loupe.sae;

import dev.loupe.model.Model;
import dev.loupe.model.ModelConfig;

/** Checks, before any compute, that an SAE can read its hook point on a given model. */
public final class SaeCompatibility {
    private SaeCompatibility() {}

    /**
     * Fails with one line unless the SAE's hook point exists in the model (else the closest names are listed)
     * and its width there equals the SAE's {@code d_in}.
     */
    public static void require(Sae sae, Model model) {
        String hook = sae.hookName();
        model.hookPoints().id(hook);
        int width = width(hook, model.config());
        if (width != sae.dIn()) {
            throw new IllegalArgumentException(sae.config().source() + ": SAE reads " + sae.dIn() + "-wide activations but "
                    + hook + " is " + width + " wide on this model (" + model.config().hiddenSize()
                    + " hidden): the SAE was trained on another model");
        }
    }

    /** The width of a {@code [positions, width]} hook point; fails for the 3-D attention scores and patterns. */
    public static int width(String hook, ModelConfig c) {
        String suffix = hook.contains(".") && hook.startsWith("blocks.") ? hook.substring(hook.indexOf('.', 7) + 1) : hook;
        return switch (suffix) {
            case "hook_embed", "ln_final.hook_normalized", "hook_resid_pre", "hook_resid_mid", "hook_resid_post",
                 "hook_attn_out", "hook_mlp_out" -> c.hiddenSize();
            case "attn.hook_q", "attn.hook_rot_q", "attn.hook_z" -> c.qDim();
            case "attn.hook_k", "attn.hook_v", "attn.hook_rot_k" -> c.kvDim();
            case "mlp.hook_pre", "mlp.hook_post" -> c.intermediateSize();
            default -> throw new IllegalArgumentException(hook + " is not a [positions, width] hook point an SAE can read");
        };
    }
}
