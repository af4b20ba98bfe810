package dev.loupe.model.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a Hugging Face Gemma 2 {@code config.json}. Absent fields take the defaults of transformers'
 * {@code ModelConfig}; unknown fields are ignored, as transformers does.
 */
public final class HfConfig {
    private HfConfig() {}

    /**
     * The config. The embedding factor is the float32 {@code sqrt(hidden_size)} whatever the checkpoint's dtype:
     * HF rounds it to the dtype it computes in (59.75 for 9B in bf16), but Loupe computes in float32, as llama.cpp
     * and HF in float32 do, so F32 and BF16 copies of the same weights give the same activations.
     */
    public static ModelConfig read(Path configJson) throws IOException {
        JsonNode root = parse(configJson);
        Fields f = new Fields(configJson, root);
        String modelType = f.string("model_type", null);
        if (!"gemma2".equals(modelType)) {
            throw new IOException(configJson + ": model_type is " + (modelType == null ? "missing" : "\"" + modelType + "\"")
                    + ", expected \"gemma2\"");
        }
        int hidden = f.integer("hidden_size", 2304);
        try {
            return new ModelConfig(
                    f.integer("vocab_size", 256000),
                    hidden,
                    f.integer("intermediate_size", 9216),
                    f.integer("num_hidden_layers", 26),
                    f.integer("num_attention_heads", 8),
                    f.integer("num_key_value_heads", 4),
                    f.integer("head_dim", 256),
                    f.number("query_pre_attn_scalar", 256),
                    f.number("rope_theta", 10000),
                    f.number("rms_norm_eps", 1e-6),
                    f.integer("sliding_window", 4096),
                    f.softcap("attn_logit_softcapping", 50),
                    f.softcap("final_logit_softcapping", 30),
                    ModelConfig.embeddingScale(hidden),
                    f.integer("max_position_embeddings", 8192),
                    f.tokenId("bos_token_id", 2),
                    f.tokenId("eos_token_id", 1));
        } catch (IllegalArgumentException e) {
            throw new IOException(configJson + ": " + e.getMessage().replaceFirst("^config: ", ""));
        }
    }

    /** The torch_dtype field ("bfloat16", "float32", ...) or null. */
    public static String torchDtype(Path configJson) throws IOException {
        return new Fields(configJson, parse(configJson)).string("torch_dtype", null);
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

    /** Typed field access with one-line errors naming the file and field. */
    private record Fields(Path file, JsonNode root) {
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

        /** Token ids may be a list (several eos ids); the first is the primary one. */
        int tokenId(String name, int dflt) throws IOException {
            JsonNode n = get(name);
            if (n != null && n.isArray()) {
                if (n.isEmpty()) return dflt;
                n = n.get(0);
            }
            if (n == null) return dflt;
            if (!n.canConvertToExactIntegral() || !n.canConvertToInt() || !n.isNumber()) throw bad(name, "an integer", n);
            return n.intValue();
        }

        IOException bad(String name, String expected, JsonNode found) {
            return new IOException(file + ": " + name + " must be " + expected + ", found " + found);
        }
    }
}
