package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
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
        requireFamily(sae, model);
        model.hookPoints().id(hook);
        if (sae.config().transcoder()) model.hookPoints().id(sae.config().outputHookName());
        int width = width(hook, model.config());
        if (width != sae.dIn()) {
            throw new BadInputException(sae.config().source() + ": SAE reads " + sae.dIn() + "-wide activations but "
                    + hook + " is " + width + " wide on this model (" + model.config().hiddenSize()
                    + " hidden): the SAE was trained on another model");
        }
    }

    /** The width of a {@code [positions, width]} hook point; fails for the 3-D attention scores and patterns. */
    public static int width(String hook, ModelConfig c) {
        String suffix = hook.contains(".") && hook.startsWith("blocks.") ? hook.substring(hook.indexOf('.', 7) + 1) : hook;
        return switch (suffix) {
            case "hook_embed", "ln_final.hook_normalized", "hook_resid_pre", "hook_resid_mid", "hook_resid_post",
                 "hook_attn_out", "hook_mlp_out", "ln2.hook_normalized" -> c.hiddenSize();
            case "attn.hook_q", "attn.hook_rot_q", "attn.hook_z", "attn.hook_q_normed" -> c.qDim();
            case "attn.hook_k", "attn.hook_v", "attn.hook_rot_k", "attn.hook_k_normed" -> c.kvDim();
            case "mlp.hook_pre", "mlp.hook_post" -> c.intermediateSize();
            default -> throw new BadInputException(hook + " is not a [positions, width] hook point an SAE can read");
        };
    }

    /**
     * An SAE whose files name a Gemma release ({@code google/gemma-3-4b-pt}, {@code gemma-2-2b}) must run on that
     * family member: widths can coincide across generations, and an SAE of another generation reads meaningless
     * activations without any other error.
     */
    static void requireFamily(Sae sae, Model model) {
        String name = sae.config().modelName();
        if (name == null) return;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("gemma-(\\d)").matcher(name.toLowerCase(java.util.Locale.ROOT));
        if (!m.find()) return;
        String expected = switch (m.group(1)) {
            case "1" -> "gemma";
            case "2" -> "gemma2";
            case "3" -> "gemma3_text";
            default -> null;
        };
        String actual = model.config().architecture().name();
        if (expected != null && !expected.equals(actual)) {
            throw new BadInputException(sae.config().source() + ": the SAE was trained on " + name + " (" + expected
                    + ") but the model is " + actual);
        }
    }
}
