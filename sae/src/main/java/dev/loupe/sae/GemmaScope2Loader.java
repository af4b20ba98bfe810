package dev.loupe.sae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.SafetensorsFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads a Gemma Scope 2 folder ({@code google/gemma-scope-2-*}: {@code {site}/layer_{L}_width_{W}_l0_{size}/} with
 * {@code params.safetensors} and {@code config.json}). The tensors are Gemma Scope 1's, named in lower case:
 * {@code w_enc [d_in, d_sae]}, {@code w_dec [d_sae, d_out]}, {@code b_enc}, {@code b_dec}, {@code threshold}; JumpReLU
 * with no input normalisation and no {@code b_dec} subtraction. The config's {@code hf_hook_point_in}/{@code _out} name
 * HF modules, mapped here to hook points; a transcoder reads one and predicts the other. The folder's layer and width,
 * the config's width and the tensors must all agree.
 */
final class GemmaScope2Loader {
    static final String CONFIG = "config.json";
    static final String WEIGHTS = "params.safetensors";
    private static final Pattern HF_POINT = Pattern.compile("(?:.*\\.)?layers\\.(\\d+)\\.(output|self_attn\\.o_proj\\.input|"
            + "post_feedforward_layernorm\\.output|pre_feedforward_layernorm\\.output|mlp\\.output|mlp\\.input)");
    private static final Pattern FOLDER_LAYER = Pattern.compile("layer_(\\d+)(?:_|$)");
    private static final Pattern FOLDER_WIDTH = Pattern.compile("width_(\\d+)([km]?)(?:_|$)");

    private GemmaScope2Loader() {}

    static boolean isGemmaScope2(Path dir) {
        return Files.isRegularFile(dir.resolve(WEIGHTS)) && Files.isRegularFile(dir.resolve(CONFIG));
    }

    static Sae load(Path dir, String hookOverride, Backend backend) throws IOException {
        Path configFile = dir.resolve(CONFIG);
        JsonNode cfg;
        try {
            cfg = new ObjectMapper().readTree(configFile.toFile());
        } catch (IOException e) {
            throw new IOException(configFile + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (cfg == null || !cfg.isObject()) throw new IOException(configFile + ": expected a JSON object");
        String architecture = text(cfg, "architecture", configFile);
        if (!architecture.equals("jump_relu")) {
            throw new IOException(configFile + ": architecture is \"" + architecture + "\", expected \"jump_relu\" (the only Gemma Scope 2 kind)");
        }
        String type = cfg.path("type").asText("sae");
        if (!type.equals("sae") && !type.equals("transcoder")) {
            throw new IOException(configFile + ": type is \"" + type + "\"; Loupe loads Gemma Scope 2 SAEs and transcoders, not "
                    + type + "s (their weights span several layers)");
        }
        if (cfg.path("affine_connection").asBoolean(false)) {
            throw new IOException(configFile + ": affine_connection is true: affine-skip transcoders (W_skip) are not supported");
        }
        Point in = point(text(cfg, "hf_hook_point_in", configFile), "hf_hook_point_in", configFile);
        Point out = point(cfg.has("hf_hook_point_out") ? text(cfg, "hf_hook_point_out", configFile) : text(cfg, "hf_hook_point_in", configFile),
                "hf_hook_point_out", configFile);
        String folder = dir.toAbsolutePath().normalize().getFileName().toString();
        Matcher layer = FOLDER_LAYER.matcher(folder);
        if (layer.find() && Integer.parseInt(layer.group(1)) != in.layer()) {
            throw new IOException(configFile + ": the folder says layer " + layer.group(1) + " but hf_hook_point_in reads layer " + in.layer());
        }

        SafetensorsFile st = SafetensorsFile.open(dir.resolve(WEIGHTS));
        try {
            WeightTensor enc = st.tensor("w_enc"), dec = st.tensor("w_dec");
            if (enc.rank() != 2 || dec.rank() != 2) throw new IOException(dir.resolve(WEIGHTS) + ": w_enc and w_dec must be matrices");
            int dIn = enc.rows(), dSae = enc.cols();
            // A transcoder's points (ln2 in, mlp_out out) are both d_model wide, so w_dec is [d_sae, d_in] for either kind.
            if (dec.rows() != dSae || dec.cols() != dIn) {
                throw new IOException(dec.describe() + ": shape " + Arrays.toString(dec.shape()) + ", expected [" + dSae + ", " + dIn + "]");
            }
            int width = cfg.path("width").asInt(dSae);
            if (width != dSae) throw new IOException(configFile + ": width is " + width + " but w_enc has " + dSae + " features");
            OptionalInt named = folderWidth(folder);
            if (named.isPresent() && named.getAsInt() != dSae) {
                throw new IOException(dir + ": the folder says width " + named.getAsInt() + " but w_enc has " + dSae + " features");
            }
            float[] bEnc = vector(st, "b_enc", dSae), bDec = vector(st, "b_dec", dIn), threshold = vector(st, "threshold", dSae);
            String hook = hookOverride != null ? hookOverride : in.hook();
            String modelName = cfg.hasNonNull("model_name") ? cfg.get("model_name").asText() : null;
            SaeConfig config = new SaeConfig(hook, dIn, dSae, SaeArchitecture.JUMPRELU, 0, false, Normalization.NONE, 1f, 1f, 1f,
                    false, dir.toString(), type.equals("sae") ? hook : out.hook(), modelName);
            return new Sae(config, enc, false, dec, bEnc, bDec, threshold, backend, st);
        } catch (IOException | RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /** A hook point read from an HF module path. */
    private record Point(int layer, String hook) {}

    /**
     * The HF module whose output (or input) the SAE reads, as a hook point: a decoder layer's output is
     * {@code hook_resid_post}, {@code o_proj}'s input {@code attn.hook_z}, the post-feedforward norm's output
     * {@code hook_mlp_out}, the pre-feedforward norm's output {@code ln2.hook_normalized} (a transcoder's input).
     */
    private static Point point(String module, String field, Path file) throws IOException {
        Matcher m = HF_POINT.matcher(module);
        if (!m.matches()) {
            throw new IOException(file + ": " + field + " \"" + module + "\" is not a point Loupe maps (expected model.layers.L.output,"
                    + " .self_attn.o_proj.input, .pre_feedforward_layernorm.output or .post_feedforward_layernorm.output)");
        }
        int layer = Integer.parseInt(m.group(1));
        String suffix = switch (m.group(2)) {
            case "output" -> "hook_resid_post";
            case "self_attn.o_proj.input" -> "attn.hook_z";
            case "post_feedforward_layernorm.output", "mlp.output" -> "hook_mlp_out";
            default -> "ln2.hook_normalized";
        };
        return new Point(layer, "blocks." + layer + "." + suffix);
    }

    /** {@code width_16k} etc. as in Gemma Scope 1 (powers of two written in decimal units), a plain number as itself. */
    private static OptionalInt folderWidth(String folder) {
        Matcher w = FOLDER_WIDTH.matcher(folder);
        if (!w.find()) return OptionalInt.empty();
        return OptionalInt.of(GemmaScopeLayout.widthOf(w.group(1), w.group(2)));
    }

    private static String text(JsonNode cfg, String field, Path file) throws IOException {
        JsonNode n = cfg.get(field);
        if (n == null || !n.isTextual()) throw new IOException(file + ": " + field + " must be a string, found " + n);
        return n.textValue();
    }

    private static float[] vector(SafetensorsFile st, String name, int n) throws IOException {
        WeightTensor t = st.tensor(name);
        if (!Arrays.equals(t.shape(), new long[]{n})) {
            throw new IOException(t.describe() + ": shape " + Arrays.toString(t.shape()) + ", expected [" + n + "]");
        }
        return t.toFloatArray();
    }
}
