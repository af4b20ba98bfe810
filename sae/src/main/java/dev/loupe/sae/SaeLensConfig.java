package dev.loupe.sae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fields of a SAELens {@code cfg.json} that decide how the SAE computes. Accepts both SAELens 6
 * ({@code metadata.hook_name}, {@code architecture}, {@code k}) and older files ({@code hook_point},
 * {@code activation_fn_str: "topk"} with {@code activation_fn_kwargs.k}; missing {@code apply_b_dec_to_input}
 * defaults to true and missing {@code architecture} to "standard", as SAELens's own defaulting does).
 */
record SaeLensConfig(String hookName, int dIn, int dSae, SaeArchitecture architecture, int k,
                     boolean applyBDecToInput, Normalization normalization, float normScalingFactor,
                     boolean rescaleActsByDecoderNorm, String dtype) {
    private static final ObjectMapper JSON = dev.loupe.model.io.LoupeJson.MAPPER;

    static SaeLensConfig read(Path cfgFile) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(cfgFile));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(cfgFile + ": not valid JSON (" + String.valueOf(e.getOriginalMessage()).replace('\n', ' ') + ")");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(cfgFile + ": not UTF-8 text (a binary file?)");
        }
        if (root == null || !root.isObject()) throw new IOException(cfgFile + ": expected a JSON object");
        return parse(root, cfgFile.toString());
    }

    static SaeLensConfig parse(JsonNode root, String where) throws IOException {
        JsonNode meta = root.path("metadata");
        String hook = text(meta, "hook_name");
        if (hook == null) hook = text(root, "hook_name");
        if (hook == null) hook = text(root, "hook_point");
        JsonNode head = meta.has("hook_head_index") ? meta.get("hook_head_index") : root.path("hook_head_index");
        if (!head.isMissingNode() && !head.isNull()) {
            throw new IOException(where + ": hook_head_index = " + head + " (single-head SAEs) is not supported");
        }
        int dIn = requiredInt(root, "d_in", where);
        int dSae = requiredInt(root, "d_sae", where);

        String archName = text(root, "architecture");
        String activation = text(root, "activation_fn");
        if (activation == null) activation = text(root, "activation_fn_str");
        int k = root.path("k").asInt(0);
        if (k == 0) k = root.path("activation_fn_kwargs").path("k").asInt(0);
        SaeArchitecture arch;
        if (archName == null) arch = "topk".equals(activation) ? SaeArchitecture.TOPK : SaeArchitecture.RELU;
        else arch = SaeArchitecture.fromSaeLens(archName, where);
        if (arch == SaeArchitecture.TOPK && k <= 0) throw new IOException(where + ": topk SAE without k");
        if (arch == SaeArchitecture.TOPK && k > dSae) throw new IOException(where + ": k = " + k + ", expected at most d_sae = " + dSae);

        boolean applyBDec = bool(root, "apply_b_dec_to_input", true, where);
        JsonNode normNode = root.path("normalize_activations");
        if (!normNode.isMissingNode() && !normNode.isNull() && !normNode.isBoolean() && !normNode.isTextual()) {
            throw new IOException(where + ": normalize_activations = " + normNode + ", expected a string such as \"none\" (or a boolean)");
        }
        Normalization norm;
        if (normNode.isBoolean()) norm = normNode.asBoolean() ? Normalization.EXPECTED_AVERAGE_ONLY_IN : Normalization.NONE;
        else norm = Normalization.fromSaeLens(normNode.isTextual() ? normNode.asText() : null, where);
        float factor = 1f;
        if (norm == Normalization.EXPECTED_AVERAGE_ONLY_IN) {
            JsonNode f = root.has("norm_scaling_factor") ? root.get("norm_scaling_factor") : meta.path("norm_scaling_factor");
            if (!f.isNumber()) {
                throw new IOException(where + ": normalize_activations is expected_average_only_in but there is no numeric"
                        + " norm_scaling_factor (SAELens takes it from its pretrained-SAE directory; add it to cfg.json)");
            }
            factor = (float) f.asDouble();
            if (!(factor > 0 && factor < Float.POSITIVE_INFINITY)) {
                throw new IOException(where + ": norm_scaling_factor = " + f + ", expected a positive finite number");
            }
        }
        boolean rescale = bool(root, "rescale_acts_by_decoder_norm", false, where);
        String dtype = text(root, "dtype");
        return new SaeLensConfig(hook, dIn, dSae, arch, arch == SaeArchitecture.TOPK ? k : 0, applyBDec, norm, factor,
                rescale && arch == SaeArchitecture.TOPK, dtype);
    }

    SaeConfig toConfig(String hookOverride, String source) {
        return new SaeConfig(hookOverride != null ? hookOverride : hookName, dIn, dSae, architecture, k, applyBDecToInput,
                normalization, normScalingFactor, 1f, 1f, rescaleActsByDecoderNorm, source);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.path(field);
        return v.isTextual() ? v.asText() : null;
    }

    /** A boolean field; anything but true, false, null or absent is refused rather than read as the default. */
    private static boolean bool(JsonNode n, String field, boolean dflt, String where) throws IOException {
        JsonNode v = n.path(field);
        if (v.isMissingNode() || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new IOException(where + ": " + field + " = " + v + ", expected true or false");
        return v.booleanValue();
    }

    private static int requiredInt(JsonNode n, String field, String where) throws IOException {
        JsonNode v = n.path(field);
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) {
            throw new IOException(where + ": field '" + field + "' must be a positive integer, got " + (v.isMissingNode() ? "nothing" : v.toString()));
        }
        return v.asInt();
    }
}
