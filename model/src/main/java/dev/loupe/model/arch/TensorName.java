package dev.loupe.model.arch;

/**
 * One per-layer tensor of an architecture: its role and its name in each format, relative to the layer's prefix
 * ({@code <text model>layers.{L}.} in Hugging Face files, {@code blk.{L}.} in GGUF).
 */
public record TensorName(LayerTensor role, String hf, String gguf) {
    /**
     * Where a Hugging Face text model's tensors start: {@code model.} for a causal LM; a multimodal Gemma 3 keeps its text
     * model under {@code language_model.model.} (transformers 4) or {@code model.language_model.} (transformers 5).
     */
    public static final java.util.List<String> HF_TEXT_PREFIXES = java.util.List.of("model.", "language_model.model.", "model.language_model.");
    public static final String HF_TEXT_PREFIX = "model.";
    public static final String GGUF_LAYER_PREFIX = "blk.";

    /** The full Hugging Face name in layer {@code layer} of a text model under {@code textPrefix}, e.g. {@code model.layers.3.self_attn.q_proj.weight}. */
    public String hfAt(String textPrefix, int layer) { return textPrefix + "layers." + layer + "." + hf; }

    /** The full name in a causal LM's file. */
    public String hfAt(int layer) { return hfAt(HF_TEXT_PREFIX, layer); }

    /** The full GGUF name in layer {@code layer}, e.g. {@code blk.3.attn_q.weight}. */
    public String ggufAt(int layer) { return GGUF_LAYER_PREFIX + layer + "." + gguf; }
}
