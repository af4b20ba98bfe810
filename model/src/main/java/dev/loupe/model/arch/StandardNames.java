package dev.loupe.model.arch;

import static dev.loupe.model.arch.LayerTensor.*;

/** The tensor names the Gemma members share (HF names as transformers, GGUF names as llama.cpp's converter writes them). */
public final class StandardNames {
    private StandardNames() {}

    public static final TensorName INPUT = new TensorName(INPUT_NORM, "input_layernorm.weight", "attn_norm.weight");
    public static final TensorName QUERY = new TensorName(Q, "self_attn.q_proj.weight", "attn_q.weight");
    public static final TensorName KEY = new TensorName(K, "self_attn.k_proj.weight", "attn_k.weight");
    public static final TensorName VALUE = new TensorName(V, "self_attn.v_proj.weight", "attn_v.weight");
    public static final TensorName OUTPUT = new TensorName(O, "self_attn.o_proj.weight", "attn_output.weight");
    public static final TensorName GATE_PROJ = new TensorName(GATE, "mlp.gate_proj.weight", "ffn_gate.weight");
    public static final TensorName UP_PROJ = new TensorName(UP, "mlp.up_proj.weight", "ffn_up.weight");
    public static final TensorName DOWN_PROJ = new TensorName(DOWN, "mlp.down_proj.weight", "ffn_down.weight");
    /** Gemma 2 and 3: the sandwich norms around attention and MLP. */
    public static final TensorName POST_ATTENTION = new TensorName(POST_ATTENTION_NORM, "post_attention_layernorm.weight", "post_attention_norm.weight");
    public static final TensorName PRE_FEEDFORWARD = new TensorName(PRE_FEEDFORWARD_NORM, "pre_feedforward_layernorm.weight", "ffn_norm.weight");
    public static final TensorName POST_FEEDFORWARD = new TensorName(POST_FEEDFORWARD_NORM, "post_feedforward_layernorm.weight", "post_ffw_norm.weight");
}
