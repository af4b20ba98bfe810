package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.Architectures;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.arch.gemma3.Gemma3;
import dev.loupe.model.tensor.WeightTensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a GGUF file of a Gemma family member (as written by llama.cpp's converter; {@code general.architecture}
 * picks the {@link Architecture}) into {@link ModelWeights}, reading each block's tensors from the architecture's
 * list. The converter stores norm weights as {@code w + 1} already and keeps q/k rows unpermuted for Gemma, so
 * tensors are used as stored.
 */
public final class GgufCheckpoint {
    /** llama.cpp treats a 46-layer Gemma 2 as the 27B model and scales queries by (hidden/heads)^-0.5. */
    private static final int LAYERS_27B = 46;

    /** Hugging Face config field → the gemma2.* GGUF key holding the same value, for error messages. */
    private static final java.util.Map<String, String> GGUF_KEYS = java.util.Map.of(
            "rope_theta", "rope.freq_base",
            "rms_norm_eps", "attention.layer_norm_rms_epsilon",
            "attn_logit_softcapping", "attn_logit_softcapping",
            "final_logit_softcapping", "final_logit_softcapping",
            "max_position_embeddings", "context_length",
            "sliding_window", "attention.sliding_window",
            "num_hidden_layers", "block_count",
            "intermediate_size", "feed_forward_length",
            "num_key_value_heads", "attention.head_count_kv",
            "head_dim", "attention.key_length");

    private GgufCheckpoint() {}

    /** Opens the file and builds the weights; closing the weights closes the file. */
    public static ModelWeights load(Path path) throws IOException {
        GgufFile file = GgufFile.open(path);
        try {
            return load(file);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * Builds the weights over an open file (whose metadata stays usable, e.g. for the tokenizer). Closing the
     * returned weights closes the file.
     */
    public static ModelWeights load(GgufFile f) throws IOException {
        ModelConfig c = config(f);
        WeightTensor embedding = f.tensor(Architecture.GGUF_EMBEDDING).requireShape(c.vocabSize(), c.hiddenSize());
        // No presized list: a corrupt block_count must fail on its first missing tensor, not allocate first.
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) layers.add(layer(f, c, l));
        CheckpointLayers.requireNoneBeyond(f.tensorInfos().stream().map(GgufFile.TensorInfo::name).toList(), TensorName.GGUF_LAYER_PREFIX, c.numLayers(),
                f.path() + ": " + c.architecture().ggufName() + ".block_count is " + c.numLayers() + " but the file");
        float[] finalNorm = norm(f, Architecture.GGUF_FINAL_NORM, c.hiddenSize());
        return new ModelWeights(c, embedding, List.copyOf(layers), finalNorm, f);
    }

    /** The model hyperparameters stored in the metadata (plus the vocabulary size, from the embedding). */
    public static ModelConfig config(GgufFile f) throws IOException {
        String name = f.getString("general.architecture", null);
        Architecture arch = name == null ? null : Architectures.byGgufName(name);
        if (arch == null || arch == Gemma3.ARCHITECTURE) {
            throw new IOException(f.path() + ": general.architecture is " + (name == null ? "missing" : "\"" + name + "\"")
                    + ", expected \"gemma\" or \"gemma2\"" + (arch == null ? "" : " (Gemma 3 GGUF files are not supported)"));
        }
        String k = arch.ggufName() + ".";
        int hidden = f.getInt(k + "embedding_length");
        int heads = f.getInt(k + "attention.head_count");
        int layers = f.getInt(k + "block_count");
        if (heads <= 0 || hidden <= 0) throw new IOException(f.path() + ": embedding_length " + hidden + " / head_count " + heads + " must be positive");
        int headDim = f.getInt(k + "attention.key_length", hidden / heads);
        long vocab = f.hasTensor("token_embd.weight") ? f.tensorInfo("token_embd.weight").shape()[0]
                : f.getStringArray("tokenizer.ggml.tokens").size();
        if (vocab > Integer.MAX_VALUE) throw new IOException(f.path() + ": token_embd.weight has " + vocab + " rows");
        try {
            List<LayerType> types = arch.sliding().layerTypes(layers, 0);
            Rope rope = Rope.of(f.getFloat(k + "rope.freq_base", 10000f));
            return new ModelConfig(
                    arch,
                    (int) vocab,
                    hidden,
                    f.getInt(k + "feed_forward_length"),
                    layers,
                    heads,
                    f.getInt(k + "attention.head_count_kv", heads),
                    headDim,
                    arch.queryPreAttnScalar() ? queryPreAttnScalar(f, k, layers, hidden, heads, headDim) : headDim,
                    f.getFloat(k + "attention.layer_norm_rms_epsilon"),
                    types,
                    types.contains(LayerType.SLIDING) ? f.getInt(k + "attention.sliding_window", 4096) : Integer.MAX_VALUE,
                    rope,
                    rope,
                    arch.softcaps() ? f.getFloat(k + "attn_logit_softcapping", 50f) : 0f,
                    arch.softcaps() ? f.getFloat(k + "final_logit_softcapping", 30f) : 0f,
                    ModelConfig.embeddingScale(hidden),
                    f.getInt(k + "context_length", 8192),
                    f.getInt("tokenizer.ggml.bos_token_id", 2),
                    List.of(f.getInt("tokenizer.ggml.eos_token_id", 1)));
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            if (!m.startsWith(f.path().toString())) {
                m = m.replaceFirst("^config: ", "");
                // Name the GGUF key the value came from, not the Hugging Face field it corresponds to.
                for (var key : GGUF_KEYS.entrySet()) m = m.replace("invalid " + key.getKey() + " ", "invalid " + k + key.getValue() + " ");
                m = f.path() + ": " + m;
            }
            throw new IOException(m);
        }
    }

    /**
     * GGUF stores no query_pre_attn_scalar. An optional {@code gemma2.attention.scale} holds the query
     * multiplier s = qpas^-0.5; otherwise llama.cpp's rule applies.
     */
    private static float queryPreAttnScalar(GgufFile f, String k, int layers, int hidden, int heads, int headDim) throws IOException {
        String key = k + "attention.scale";
        if (f.has(key)) {
            double s = f.getFloat(key);
            if (!(s > 0) || Double.isInfinite(s)) throw new IOException(f.path() + ": " + key + " = " + s + " must be positive");
            double qpas = 1.0 / (s * s);
            // The float32 scale of an integer qpas (24, 144, 256) does not invert to that integer exactly (1/sqrt(24)
            // comes back as 23.999998); take the integer when it gives back this very scale, so a GGUF and its HF
            // folder scale scores identically.
            long whole = Math.round(qpas);
            if (whole > 0 && (float) (1.0 / Math.sqrt(whole)) == (float) s) return whole;
            return (float) qpas;
        }
        return layers == LAYERS_27B ? (float) hidden / heads : headDim;
    }

    private static LayerWeights layer(GgufFile f, ModelConfig c, int l) {
        Map<LayerTensor, WeightTensor> matrices = new EnumMap<>(LayerTensor.class);
        Map<LayerTensor, float[]> norms = new EnumMap<>(LayerTensor.class);
        for (TensorName t : c.architecture().layerTensors()) {
            long[] shape = t.role().shape(c);
            if (t.role().isMatrix()) matrices.put(t.role(), f.tensor(t.ggufAt(l)).requireShape(shape));
            else norms.put(t.role(), norm(f, t.ggufAt(l), (int) shape[0]));
        }
        return new LayerWeights(matrices, norms);
    }

    /** Already the multiplier {@code 1 + w}: the converter added the 1. */
    private static float[] norm(GgufFile f, String name, int hidden) {
        return f.tensor(name).requireShape(hidden).toFloatArray();
    }
}
