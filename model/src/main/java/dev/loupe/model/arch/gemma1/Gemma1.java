package dev.loupe.model.arch.gemma1;

import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.SlidingPattern;
import dev.loupe.model.arch.TensorName;

import java.util.List;
import java.util.Map;

import static dev.loupe.model.arch.StandardNames.*;

/**
 * Gemma 1 ({@code model_type: gemma}, GGUF {@code gemma}): two norms per block, the second of which HF calls
 * {@code post_attention_layernorm} although it sits before the MLP; no sandwich norms, no softcaps, no sliding window;
 * scores scaled by {@code head_dim^-0.5}; multi-query attention on the 2B.
 */
public final class Gemma1 {
    private Gemma1() {}

    public static final Architecture ARCHITECTURE = new Architecture(
            "gemma", "GemmaForCausalLM", List.of("gemma"), "gemma",
            List.of(INPUT, QUERY, KEY, VALUE, OUTPUT,
                    new TensorName(dev.loupe.model.arch.LayerTensor.PRE_FEEDFORWARD_NORM, "post_attention_layernorm.weight", "ffn_norm.weight"),
                    GATE_PROJ, UP_PROJ, DOWN_PROJ),
            false, new SlidingPattern.None(), false,
            // transformers' GemmaConfig defaults (the 7B).
            Map.of("vocab_size", 256000, "hidden_size", 3072, "intermediate_size", 24576, "num_hidden_layers", 28,
                    "num_attention_heads", 16, "num_key_value_heads", 16, "head_dim", 256, "rope_theta", 10000.0,
                    "max_position_embeddings", 8192));
}
