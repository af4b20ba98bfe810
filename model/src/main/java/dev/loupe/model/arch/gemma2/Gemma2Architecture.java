package dev.loupe.model.arch.gemma2;

import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.SlidingPattern;

import java.util.List;
import java.util.Map;

import static dev.loupe.model.arch.StandardNames.*;

/**
 * Gemma 2 ({@code model_type: gemma2}, GGUF {@code gemma2}): sandwich norms around attention and MLP, attention and
 * final softcaps, a sliding window on even layers, scores scaled by {@code query_pre_attn_scalar^-0.5}.
 */
public final class Gemma2Architecture {
    private Gemma2Architecture() {}

    public static final Architecture ARCHITECTURE = new Architecture(
            "gemma2", "Gemma2ForCausalLM", List.of("gemma2"), "gemma2",
            List.of(INPUT, QUERY, KEY, VALUE, OUTPUT, POST_ATTENTION, PRE_FEEDFORWARD, GATE_PROJ, UP_PROJ, DOWN_PROJ, POST_FEEDFORWARD),
            true, new SlidingPattern.EvenLayers(), true,
            // transformers' Gemma2Config defaults (the 2B's shape).
            Map.ofEntries(Map.entry("vocab_size", 256000), Map.entry("hidden_size", 2304), Map.entry("intermediate_size", 9216),
                    Map.entry("num_hidden_layers", 26), Map.entry("num_attention_heads", 8), Map.entry("num_key_value_heads", 4),
                    Map.entry("head_dim", 256), Map.entry("query_pre_attn_scalar", 256), Map.entry("rope_theta", 10000.0),
                    Map.entry("sliding_window", 4096), Map.entry("attn_logit_softcapping", 50.0),
                    Map.entry("final_logit_softcapping", 30.0), Map.entry("max_position_embeddings", 8192)));
}
