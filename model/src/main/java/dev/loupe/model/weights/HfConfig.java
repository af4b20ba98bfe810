package dev.loupe.model.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.Architectures;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.Rope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads a Hugging Face {@code config.json} of any Gemma family member ({@code model_type} picks the
 * {@link Architecture}; a multimodal {@code gemma3} config is read through its {@code text_config}). Absent fields
 * take the defaults of transformers' config class for that member; unknown fields are ignored, as transformers does.
 * Field names moved between transformers versions, and both are read: RoPE settings at the top level
 * ({@code rope_theta}, {@code rope_local_base_freq}, {@code rope_scaling}) or only inside {@code rope_parameters}
 * (transformers 5, per layer type for Gemma 3); {@code sliding_window_pattern} or {@code _sliding_window_pattern}.
 */
public final class HfConfig {
    /** Transformers' name for the tanh-approximate GELU Gemma uses; {@code gelu_new} is the same formula. */
    private static final Set<String> TANH_GELU = Set.of("gelu_pytorch_tanh", "gelu_new");
    public static final String GENERATION_CONFIG = "generation_config.json";

    private HfConfig() {}

    /**
     * The config. The embedding factor is the float32 {@code sqrt(hidden_size)} whatever the checkpoint's dtype:
     * HF rounds it to the dtype it computes in (59.75 for 9B in bf16), but Loupe computes in float32, as llama.cpp
     * and HF in float32 do, so F32 and BF16 copies of the same weights give the same activations. Generation stops at
     * the eos ids of {@code generation_config.json} beside it when that file names some, else at config.json's.
     */
    public static ModelConfig read(Path configJson) throws IOException {
        JsonNode top = parse(configJson);
        Fields outer = new Fields(configJson, top, "");
        String modelType = outer.string("model_type", null);
        Architecture arch = modelType == null ? null : Architectures.byHfModelType(modelType);
        if (arch == null) {
            throw new IOException(configJson + ": model_type is " + (modelType == null ? "missing" : "\"" + modelType + "\"")
                    + ", expected one of " + Architectures.hfModelTypes());
        }
        // A multimodal Gemma 3 keeps the text model's settings in text_config (token ids may sit at the top level).
        Fields f = outer;
        if (!modelType.equals(arch.hfModelTypes().getFirst())) {
            JsonNode text = top.get("text_config");
            if (text == null || !text.isObject()) throw new IOException(configJson + ": model_type \"" + modelType + "\" needs a text_config object");
            f = new Fields(configJson, text, "text_config.");
        }
        requireTanhGelu(f, arch);
        int hidden = f.integer("hidden_size", arch.hfDefault("hidden_size").intValue());
        int layers = f.integer("num_hidden_layers", arch.hfDefault("num_hidden_layers").intValue());
        int headDim = f.integer("head_dim", arch.hfDefault("head_dim").intValue());
        try {
            List<LayerType> types = layerTypes(f, arch, layers);
            Rope[] rope = rope(f, arch);
            return new ModelConfig(
                    arch,
                    f.integer("vocab_size", arch.hfDefault("vocab_size").intValue()),
                    hidden,
                    f.integer("intermediate_size", arch.hfDefault("intermediate_size").intValue()),
                    layers,
                    f.integer("num_attention_heads", arch.hfDefault("num_attention_heads").intValue()),
                    f.integer("num_key_value_heads", arch.hfDefault("num_key_value_heads").intValue()),
                    headDim,
                    arch.queryPreAttnScalar() ? f.number("query_pre_attn_scalar", arch.hfDefault("query_pre_attn_scalar").doubleValue()) : headDim,
                    f.number("rms_norm_eps", 1e-6),
                    types,
                    types.contains(LayerType.SLIDING) ? f.integer("sliding_window", arch.hfDefault("sliding_window").intValue()) : Integer.MAX_VALUE,
                    rope[0],
                    rope[1],
                    arch.softcaps() ? f.softcap("attn_logit_softcapping", arch.hfDefault("attn_logit_softcapping").doubleValue()) : 0f,
                    arch.softcaps() ? f.softcap("final_logit_softcapping", arch.hfDefault("final_logit_softcapping").doubleValue()) : 0f,
                    ModelConfig.embeddingScale(hidden),
                    f.integer("max_position_embeddings", arch.hfDefault("max_position_embeddings").intValue()),
                    f.tokenIds("bos_token_id", outer.tokenIds("bos_token_id", List.of(2))).getFirst(),
                    eosIds(configJson, f, outer));
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage().replaceFirst("^config: ", ""));
        }
    }

    /**
     * Gemma's MLP is a GeGLU with the tanh GELU; another activation would run silently wrong, so it is refused. Gemma 1's
     * first configs said {@code hidden_act: "gelu"}: transformers' Gemma MLP reads {@code hidden_activation} and, when
     * that is absent, uses the tanh GELU whatever {@code hidden_act} says, so "gelu" there means tanh too.
     */
    private static void requireTanhGelu(Fields f, Architecture arch) throws IOException {
        String activation = f.string("hidden_activation", null);
        String field = "hidden_activation";
        if (activation == null && arch.queryPreAttnScalar()) {
            activation = f.string("hidden_act", null);
            field = "hidden_act";
        } else if (activation == null) {
            String legacy = f.string("hidden_act", null);
            if (legacy != null && !legacy.equals("gelu") && !TANH_GELU.contains(legacy)) {
                activation = legacy;
                field = "hidden_act";
            }
        }
        if (activation != null && !TANH_GELU.contains(activation)) {
            throw new IOException(f.file() + ": " + f.prefix() + field + " is \"" + activation
                    + "\", but Loupe implements only Gemma's tanh GELU (\"gelu_pytorch_tanh\")");
        }
    }

    /** {@code layer_types} when present (it decides); otherwise the architecture's fallback pattern. */
    private static List<LayerType> layerTypes(Fields f, Architecture arch, int layers) throws IOException {
        JsonNode list = f.get("layer_types");
        if (list == null) {
            int every = f.integer("sliding_window_pattern", f.integer("_sliding_window_pattern", 0));
            return arch.sliding().layerTypes(layers, every);
        }
        if (!list.isArray()) throw f.bad("layer_types", "a list of \"sliding_attention\"/\"full_attention\"", list);
        if (list.size() != layers) {
            throw new IOException(f.file() + ": " + f.prefix() + "layer_types lists " + list.size() + " layers but num_hidden_layers is " + layers);
        }
        List<LayerType> types = new ArrayList<>();
        for (JsonNode n : list) {
            LayerType t = n.isTextual() ? LayerType.ofHfName(n.textValue()) : null;
            if (t == null) throw f.bad("layer_types", "a list of \"sliding_attention\"/\"full_attention\"", n);
            types.add(t);
        }
        return List.copyOf(types);
    }

    /**
     * {@code [sliding, full]} RoPE. transformers 5 writes the settings only in {@code rope_parameters}: one object, or
     * one per layer type; older files have {@code rope_theta} (Gemma 3: the full layers' base, with
     * {@code rope_local_base_freq} for sliding ones and {@code rope_scaling} on full ones). A config with neither is
     * refused: a silently defaulted base runs a different model.
     */
    private static Rope[] rope(Fields f, Architecture arch) throws IOException {
        JsonNode params = f.get("rope_parameters");
        if (params != null) {
            if (!params.isObject()) throw f.bad("rope_parameters", "an object", params);
            JsonNode full = params.get(LayerType.FULL.hfName()), sliding = params.get(LayerType.SLIDING.hfName());
            if (full == null && sliding == null) {
                Rope r = ropeOf(f, "rope_parameters", params);
                return new Rope[]{r, r};
            }
            if (full == null || sliding == null) {
                throw new IOException(f.file() + ": " + f.prefix() + "rope_parameters has " + (full == null ? "no full_attention" : "no sliding_attention")
                        + " entry (expected one per layer type)");
            }
            return new Rope[]{ropeOf(f, "rope_parameters.sliding_attention", sliding), ropeOf(f, "rope_parameters.full_attention", full)};
        }
        if (f.get("rope_theta") == null) {
            throw new IOException(f.file() + ": neither " + f.prefix() + "rope_theta nor " + f.prefix()
                    + "rope_parameters is set (expected the RoPE base, e.g. \"rope_theta\": 10000)");
        }
        float theta = f.number("rope_theta", 0);
        JsonNode scaling = f.get("rope_scaling");
        Rope full = scaling == null ? Rope.of(theta) : ropeOf(f, "rope_scaling", scaling, theta);
        if (!arch.hfDefaults().containsKey("rope_local_base_freq")) return new Rope[]{full, full};
        return new Rope[]{Rope.of(f.number("rope_local_base_freq", arch.hfDefault("rope_local_base_freq").doubleValue())), full};
    }

    private static Rope ropeOf(Fields f, String where, JsonNode o) throws IOException {
        JsonNode theta = o.get("rope_theta");
        if (theta == null || !theta.isNumber()) throw f.bad(where + ".rope_theta", "a number", theta);
        return ropeOf(f, where, o, (float) theta.doubleValue());
    }

    /** {@code rope_type} "default" (or absent) and "linear" (with {@code factor}) are what Gemma uses; others are refused. */
    private static Rope ropeOf(Fields f, String where, JsonNode o, float theta) throws IOException {
        if (!o.isObject()) throw f.bad(where, "an object", o);
        JsonNode typeNode = o.has("rope_type") ? o.get("rope_type") : o.get("type");
        String type = typeNode == null || typeNode.isNull() ? "default" : typeNode.asText();
        try {
            return switch (type) {
                case "default" -> Rope.of(theta);
                case "linear" -> {
                    JsonNode factor = o.get("factor");
                    if (factor == null || !factor.isNumber()) throw f.bad(where + ".factor", "a number", factor);
                    yield new Rope(theta, (float) factor.doubleValue());
                }
                default -> throw new IOException(f.file() + ": " + f.prefix() + where + ".rope_type is \"" + type
                        + "\", but Loupe implements only \"default\" and \"linear\" RoPE");
            };
        } catch (IllegalArgumentException e) {
            throw new IOException(f.file() + ": " + f.prefix() + where + ": " + e.getMessage().replaceFirst("^config: ", ""));
        }
    }

    /**
     * The ids generation stops at: {@code generation_config.json}'s {@code eos_token_id} (an int or a list) when the
     * file is there and sets it, as transformers' generate uses; else config.json's (the text config's, then the top level's).
     */
    private static List<Integer> eosIds(Path configJson, Fields text, Fields outer) throws IOException {
        Path gen = configJson.resolveSibling(GENERATION_CONFIG);
        if (Files.isRegularFile(gen)) {
            Fields g = new Fields(gen, parse(gen), "");
            List<Integer> ids = g.tokenIds("eos_token_id", null);
            if (ids != null) return ids;
        }
        return text.tokenIds("eos_token_id", outer.tokenIds("eos_token_id", List.of(1)));
    }

    /** The dtype field ({@code torch_dtype}, or {@code dtype} as transformers 5 writes it): "bfloat16", "float32", ... or null. */
    public static String torchDtype(Path configJson) throws IOException {
        Fields f = new Fields(configJson, parse(configJson), "");
        return f.string("torch_dtype", f.string("dtype", null));
    }

    private static JsonNode parse(Path configJson) throws IOException {
        try {
            JsonNode root = dev.loupe.model.io.LoupeJson.MAPPER.readTree(Files.readString(configJson));
            if (root == null || !root.isObject()) throw new IOException(configJson + ": expected a JSON object");
            return root;
        } catch (JsonProcessingException e) {
            throw new IOException(configJson + ": not valid JSON: " + dev.loupe.model.io.LoupeJson.describe(e));
        } catch (NoSuchFileException e) {
            throw new IOException(configJson + ": does not exist");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(configJson + ": not UTF-8 text (a binary file?)");
        }
    }

    /** Typed field access with one-line errors naming the file and field ({@code prefix}: where the object sits). */
    private record Fields(Path file, JsonNode root, String prefix) {
        JsonNode get(String name) {
            JsonNode n = root.get(name);
            return n == null || n.isNull() ? null : n;
        }

        String string(String name, String dflt) throws IOException {
            JsonNode n = get(name);
            if (n == null) return dflt;
            if (!n.isTextual()) throw bad(name, "a string", n);
            return n.textValue();
        }

        int integer(String name, int dflt) throws IOException {
            JsonNode n = get(name);
            if (n == null) return dflt;
            if (!n.isNumber() || !n.canConvertToExactIntegral() || !n.canConvertToInt()) throw bad(name, "an integer", n);
            return n.intValue();
        }

        float number(String name, double dflt) throws IOException {
            JsonNode n = get(name);
            if (n == null) return (float) dflt;
            if (!n.isNumber()) throw bad(name, "a number", n);
            return (float) n.doubleValue();
        }

        /** null means "no softcapping" in transformers; 0 disables it here. */
        float softcap(String name, double dflt) throws IOException {
            if (root.has(name) && root.get(name).isNull()) return 0f;
            return number(name, dflt);
        }

        /** A token id or a list of them (several eos ids); {@code dflt} when absent or an empty list. */
        List<Integer> tokenIds(String name, List<Integer> dflt) throws IOException {
            JsonNode n = get(name);
            if (n == null) return dflt;
            List<Integer> ids = new ArrayList<>();
            for (JsonNode e : n.isArray() ? n : List.of(n)) {
                if (!e.isNumber() || !e.canConvertToExactIntegral() || !e.canConvertToInt()) throw bad(name, "an integer or a list of integers", n);
                ids.add(e.intValue());
            }
            return ids.isEmpty() ? dflt : List.copyOf(ids);
        }

        IOException bad(String name, String expected, JsonNode found) {
            return new IOException(file + ": " + prefix + name + " must be " + expected + ", found " + found);
        }
    }
}
