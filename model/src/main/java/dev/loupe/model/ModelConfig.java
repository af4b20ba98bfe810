package dev.loupe.model;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.arch.SlidingPattern;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.arch.gemma2.Gemma2Architecture;

import java.util.List;

/**
 * The hyperparameters of one Gemma-family model, whatever file they came from; what differs between members as
 * structure (which tensors and norms exist) is its {@link Architecture}.
 *
 * @param queryPreAttnScalar attention scores are scaled by {@code queryPreAttnScalar^-0.5} (head_dim for Gemma 1)
 * @param layerTypes         each layer's attention: sliding or full
 * @param slidingWindow      key j is visible from query i on sliding layers iff {@code 0 <= i - j < slidingWindow}
 * @param slidingRope        RoPE of sliding layers
 * @param fullRope           RoPE of full-attention layers
 * @param attnSoftcap        scores become {@code c·tanh(s/c)} before masking; 0 disables
 * @param finalSoftcap       logits become {@code c·tanh(l/c)}; 0 disables
 * @param embeddingScale     factor applied to embeddings: {@link #embeddingScale(int)} for every checkpoint
 * @param eosIds             generation stops at any of these (generation_config.json's, else config.json's); the first is the primary one
 */
public record ModelConfig(
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        float queryPreAttnScalar,
        float rmsNormEps,
        List<LayerType> layerTypes,
        int slidingWindow,
        Rope slidingRope,
        Rope fullRope,
        float attnSoftcap,
        float finalSoftcap,
        float embeddingScale,
        int maxPositions,
        int bosId,
        List<Integer> eosIds) {

    /** A Gemma 2 config: even layers slide, one RoPE base, one eos id. */
    public ModelConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads, int headDim,
                       float queryPreAttnScalar, float ropeTheta, float rmsNormEps, int slidingWindow, float attnSoftcap,
                       float finalSoftcap, float embeddingScale, int maxPositions, int bosId, int eosId) {
        this(Gemma2Architecture.ARCHITECTURE, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                queryPreAttnScalar, rmsNormEps, positiveLayers(numLayers, new SlidingPattern.EvenLayers()), slidingWindow,
                rope(ropeTheta), rope(ropeTheta), attnSoftcap, finalSoftcap, embeddingScale, maxPositions, bosId, List.of(eosId));
    }

    private static List<LayerType> positiveLayers(int layers, SlidingPattern p) {
        require(layers > 0, "num_hidden_layers", layers);
        return p.layerTypes(layers, 0);
    }

    private static Rope rope(float theta) {
        require(positiveFinite(theta), "rope_theta", theta, "a positive finite number, e.g. 10000");
        return Rope.of(theta);
    }

    public ModelConfig {
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(intermediateSize > 0, "intermediate_size", intermediateSize);
        require(numLayers > 0, "num_hidden_layers", numLayers);
        require(numHeads > 0, "num_attention_heads", numHeads);
        require(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_key_value_heads (must divide num_attention_heads)", numKvHeads);
        require(headDim > 0 && headDim % 2 == 0, "head_dim (must be even)", headDim);
        require(positiveFinite(queryPreAttnScalar), "query_pre_attn_scalar", queryPreAttnScalar, "a positive finite number");
        require(slidingWindow > 0, "sliding_window", slidingWindow);
        // Each of these runs silently when nonsensical and turns every logit into NaN (or quietly drops softcapping).
        require(architecture != null, "architecture", null);
        require(slidingRope != null && fullRope != null, "rope", null);
        require(layerTypes != null && layerTypes.size() == numLayers, "layer_types (must list num_hidden_layers = " + numLayers + " layers)",
                layerTypes == null ? null : layerTypes.size() + " entries");
        // Not copied: the patterns' lists are computed views, so a corrupt layer count allocates nothing here.
        layerTypes = java.util.Collections.unmodifiableList(layerTypes);
        require(eosIds != null && !eosIds.isEmpty(), "eos_token_id", eosIds);
        eosIds = List.copyOf(eosIds);
        for (int eos : eosIds) require(eos >= 0 && eos < vocabSize, "eos_token_id", eos, "a token id in [0, vocab_size = " + vocabSize + ")");
        require(positiveFinite(rmsNormEps), "rms_norm_eps", rmsNormEps, "a positive finite number, e.g. 1e-6");
        require(attnSoftcap >= 0 && Float.isFinite(attnSoftcap), "attn_logit_softcapping", attnSoftcap, "a finite number >= 0 (0 or null: off)");
        require(finalSoftcap >= 0 && Float.isFinite(finalSoftcap), "final_logit_softcapping", finalSoftcap, "a finite number >= 0 (0 or null: off)");
        require(positiveFinite(embeddingScale), "embedding scale", embeddingScale, "a positive finite number");
        require(maxPositions > 0, "max_position_embeddings", maxPositions, "a positive context length, e.g. 8192");
        require(bosId >= 0 && bosId < vocabSize, "bos_token_id", bosId, "a token id in [0, vocab_size = " + vocabSize + ")");
    }

    private static boolean positiveFinite(float x) { return x > 0 && x < Float.POSITIVE_INFINITY; }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) throw new BadInputException("config: invalid " + field + " = " + value);
    }

    /**
     * The factor embeddings are multiplied by: {@code sqrt(hidden)} in float32, whatever the stored dtype. HF rounds it
     * to the dtype it computes in (bf16 makes sqrt(3584) = 59.866 into 59.75); Loupe computes in float32, as llama.cpp
     * and HF in float32 do, so copies of the same weights in F32, BF16 and GGUF give the same activations.
     */
    public static float embeddingScale(int hidden) { return (float) Math.sqrt(hidden); }

    private static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) throw new BadInputException("config: invalid " + field + " = " + value + ", expected " + expected);
    }

    /** True when layer {@code layer} attends within the sliding window ({@link #layerTypes}). */
    public boolean isSliding(int layer) { return layerTypes.get(layer) == LayerType.SLIDING; }

    /** The RoPE of layer {@code layer}'s type. */
    public Rope rope(int layer) { return isSliding(layer) ? slidingRope : fullRope; }

    /** The RoPE base of full-attention layers (the one base of Gemma 1 and 2). */
    public float ropeTheta() { return fullRope.theta(); }

    /** The primary eos id (the first of {@link #eosIds}). */
    public int eosId() { return eosIds.getFirst(); }

    /**
     * Layer {@code layer}'s attention: scores scaled by {@code query_pre_attn_scalar^-0.5}, the score softcap, and the
     * sliding window on sliding layers (none on full ones).
     */
    public AttentionShape attentionShape(int layer) {
        int window = isSliding(layer) ? slidingWindow : Integer.MAX_VALUE;
        return new AttentionShape(numHeads, numKvHeads, headDim, (float) (1.0 / Math.sqrt(queryPreAttnScalar)), attnSoftcap, window);
    }

    public int qDim() { return numHeads * headDim; }
    public int kvDim() { return numKvHeads * headDim; }
    public int headsPerKv() { return numHeads / numKvHeads; }

    /** The same model with another vocabulary size (a synthesized model sized for a given tokenizer). */
    public ModelConfig withVocabSize(int vocab) {
        return new ModelConfig(architecture, vocab, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, queryPreAttnScalar,
                rmsNormEps, layerTypes, slidingWindow, slidingRope, fullRope, attnSoftcap, finalSoftcap, embeddingScale, maxPositions, bosId, eosIds);
    }

    /** Gemma 2 shapes by name (2B, 9B, 27B and the tiny test shape), for synthesized models. */
    public static ModelConfig shape(String name) {
        return switch (name) {
            case "gemma-2-2b" -> standard(2304, 9216, 26, 8, 4, 256, 256);
            case "gemma-2-9b" -> standard(3584, 14336, 42, 16, 8, 256, 256);
            case "gemma-2-27b" -> standard(4608, 36864, 46, 32, 16, 128, 144);
            case "tiny" -> new ModelConfig(384, 64, 128, 4, 4, 2, 16, 16, 10000f, 1e-6f, 8, 50f, 30f,
                    embeddingScale(64), 8192, 2, 1);
            // Shapes to train from scratch (train-lm) with the full Gemma vocabulary: toy is the demo's Factbook model.
            case "toy" -> new ModelConfig(256000, 128, 512, 2, 4, 2, 32, 32, 10000f, 1e-6f, 128, 50f, 30f,
                    embeddingScale(128), 8192, 2, 1);
            case "small" -> new ModelConfig(256000, 256, 1024, 4, 4, 2, 64, 64, 10000f, 1e-6f, 256, 50f, 30f,
                    embeddingScale(256), 8192, 2, 1);
            default -> throw new BadInputException("unknown shape '" + name
                    + "'; expected gemma-2-2b, gemma-2-9b, gemma-2-27b, tiny, toy or small");
        };
    }

    private static ModelConfig standard(int hidden, int inter, int layers, int heads, int kv, int headDim, int qpas) {
        return new ModelConfig(256000, hidden, inter, layers, heads, kv, headDim, qpas, 10000f, 1e-6f, 4096,
                50f, 30f, embeddingScale(hidden), 8192, 2, 1);
    }
}
