package dev.loupe.model;

/**
 * The hyperparameters of one Gemma 2 model, whatever file they came from.
 *
 * @param queryPreAttnScalar attention scores are scaled by {@code queryPreAttnScalar^-0.5} (not head_dim)
 * @param embeddingScale     factor applied to embeddings: {@link #embeddingScale(int)} for every checkpoint
 * @param slidingWindow      key j is visible from query i on even layers iff {@code 0 <= i - j < slidingWindow}
 * @param attnSoftcap        scores become {@code c·tanh(s/c)} before masking; 0 disables
 * @param finalSoftcap       logits become {@code c·tanh(l/c)}; 0 disables
 */
public record ModelConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        float queryPreAttnScalar,
        float ropeTheta,
        float rmsNormEps,
        int slidingWindow,
        float attnSoftcap,
        float finalSoftcap,
        float embeddingScale,
        int maxPositions,
        int bosId,
        int eosId) {

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
        require(positiveFinite(ropeTheta), "rope_theta", ropeTheta, "a positive finite number, e.g. 10000");
        require(positiveFinite(rmsNormEps), "rms_norm_eps", rmsNormEps, "a positive finite number, e.g. 1e-6");
        require(attnSoftcap >= 0 && Float.isFinite(attnSoftcap), "attn_logit_softcapping", attnSoftcap, "a finite number >= 0 (0 or null: off)");
        require(finalSoftcap >= 0 && Float.isFinite(finalSoftcap), "final_logit_softcapping", finalSoftcap, "a finite number >= 0 (0 or null: off)");
        require(positiveFinite(embeddingScale), "embedding scale", embeddingScale, "a positive finite number");
        require(maxPositions > 0, "max_position_embeddings", maxPositions, "a positive context length, e.g. 8192");
        require(bosId >= 0 && bosId < vocabSize, "bos_token_id", bosId, "a token id in [0, vocab_size = " + vocabSize + ")");
        require(eosId >= 0 && eosId < vocabSize, "eos_token_id", eosId, "a token id in [0, vocab_size = " + vocabSize + ")");
    }

    private static boolean positiveFinite(float x) { return x > 0 && x < Float.POSITIVE_INFINITY; }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) throw new IllegalArgumentException("config: invalid " + field + " = " + value);
    }

    /**
     * The factor embeddings are multiplied by: {@code sqrt(hidden)} in float32, whatever the stored dtype. HF rounds it
     * to the dtype it computes in (bf16 makes sqrt(3584) = 59.866 into 59.75); Loupe computes in float32, as llama.cpp
     * and HF in float32 do, so copies of the same weights in F32, BF16 and GGUF give the same activations.
     */
    public static float embeddingScale(int hidden) { return (float) Math.sqrt(hidden); }

    private static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) throw new IllegalArgumentException("config: invalid " + field + " = " + value + ", expected " + expected);
    }

    /** Even layers (0, 2, ...) attend within the sliding window; odd layers are global. */
    public boolean isSliding(int layer) { return layer % 2 == 0; }

    public int qDim() { return numHeads * headDim; }
    public int kvDim() { return numKvHeads * headDim; }
    public int headsPerKv() { return numHeads / numKvHeads; }

    /** The same model with another vocabulary size (a synthesized model sized for a given tokenizer). */
    public ModelConfig withVocabSize(int vocab) {
        return new ModelConfig(vocab, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, queryPreAttnScalar,
                ropeTheta, rmsNormEps, slidingWindow, attnSoftcap, finalSoftcap, embeddingScale, maxPositions, bosId, eosId);
    }

    /** Gemma 2 shapes by name (2B, 9B, 27B and the tiny test shape), for synthesized models. */
    public static ModelConfig shape(String name) {
        return switch (name) {
            case "gemma-2-2b" -> standard(2304, 9216, 26, 8, 4, 256, 256);
            case "gemma-2-9b" -> standard(3584, 14336, 42, 16, 8, 256, 256);
            case "gemma-2-27b" -> standard(4608, 36864, 46, 32, 16, 128, 144);
            case "tiny" -> new ModelConfig(384, 64, 128, 4, 4, 2, 16, 16, 10000f, 1e-6f, 8, 50f, 30f,
                    embeddingScale(64), 8192, 2, 1);
            default -> throw new IllegalArgumentException("unknown shape '" + name
                    + "'; expected gemma-2-2b, gemma-2-9b, gemma-2-27b or tiny");
        };
    }

    private static ModelConfig standard(int hidden, int inter, int layers, int heads, int kv, int headDim, int qpas) {
        return new ModelConfig(256000, hidden, inter, layers, heads, kv, headDim, qpas, 10000f, 1e-6f, 4096,
                50f, 30f, embeddingScale(hidden), 8192, 2, 1);
    }
}
