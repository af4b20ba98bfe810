package dev.loupe.model.arch.gemma3;

import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.SlidingPattern;
import dev.loupe.model.arch.TensorName;

import java.util.List;
import java.util.Map;

import static dev.loupe.model.arch.StandardNames.*;

/**
 * Gemma 3 text ({@code model_type: gemma3_text}, and the text part of {@code gemma3} checkpoints; GGUF {@code gemma3}):
 * Gemma 2's sandwich norms plus QK-norm, {@code layer_types} (5 sliding : 1 full), a RoPE base per layer type
 * (1e4 sliding, 1e6 full, linear scaling on the full layers of 4B+), no softcaps.
 */
public final class Gemma3 {
    private Gemma3() {}

    public static final Architecture ARCHITECTURE = new Architecture(
            "gemma3_text", "Gemma3ForCausalLM", List.of("gemma3_text", "gemma3"), "gemma3",
            List.of(INPUT, QUERY, KEY, VALUE, OUTPUT,
                    new TensorName(LayerTensor.Q_NORM, "self_attn.q_norm.weight", "attn_q_norm.weight"),
                    new TensorName(LayerTensor.K_NORM, "self_attn.k_norm.weight", "attn_k_norm.weight"),
                    POST_ATTENTION, PRE_FEEDFORWARD, GATE_PROJ, UP_PROJ, DOWN_PROJ, POST_FEEDFORWARD),
            false, new SlidingPattern.EveryNth(6), true,
            // transformers' Gemma3TextConfig defaults (the 4B's text shape).
            Map.ofEntries(Map.entry("vocab_size", 262208), Map.entry("hidden_size", 2304), Map.entry("intermediate_size", 9216),
                    Map.entry("num_hidden_layers", 26), Map.entry("num_attention_heads", 8), Map.entry("num_key_value_heads", 4),
                    Map.entry("head_dim", 256), Map.entry("query_pre_attn_scalar", 256), Map.entry("rope_theta", 1_000_000.0),
                    Map.entry("rope_local_base_freq", 10_000.0), Map.entry("sliding_window", 4096),
                    Map.entry("max_position_embeddings", 131072)));
}
