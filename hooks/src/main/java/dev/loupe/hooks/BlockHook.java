package dev.loupe.hooks;

/**
 * The hook points of one transformer block, in the order the forward pass reaches them, with their TransformerLens
 * suffixes: {@code blocks.{L}.<suffix>}.
 */
public enum BlockHook {
    RESID_PRE("hook_resid_pre"),
    Q("attn.hook_q"),
    K("attn.hook_k"),
    V("attn.hook_v"),
    /** Gemma 3's queries after QK-norm (per-head RMSNorm), before RoPE; only models with QK-norm have it. */
    Q_NORMED("attn.hook_q_normed"),
    /** Gemma 3's keys after QK-norm, before RoPE. */
    K_NORMED("attn.hook_k_normed"),
    ROT_Q("attn.hook_rot_q"),
    ROT_K("attn.hook_rot_k"),
    /** {@code [heads, positions, keys]}: scaled and soft-capped, before the mask. */
    ATTN_SCORES("attn.hook_attn_scores"),
    /** {@code [heads, positions, keys]}: softmax weights, 0 where masked. */
    PATTERN("attn.hook_pattern"),
    Z("attn.hook_z"),
    ATTN_OUT("hook_attn_out"),
    RESID_MID("hook_resid_mid"),
    /** The MLP's input: the residual after the pre-feedforward norm (TransformerLens's {@code ln2}; a transcoder's input). */
    LN2_NORMALIZED("ln2.hook_normalized"),
    MLP_PRE("mlp.hook_pre"),
    MLP_POST("mlp.hook_post"),
    MLP_OUT("hook_mlp_out"),
    RESID_POST("hook_resid_post");

    private final String suffix;

    BlockHook(String suffix) { this.suffix = suffix; }

    /** The TransformerLens suffix, e.g. {@code attn.hook_z}. */
    public String suffix() { return suffix; }

    /** The full name at a layer, e.g. {@code blocks.20.hook_resid_post}. */
    public String at(int layer) { return "blocks." + layer + "." + suffix; }

    /** True for the attention scores and pattern, which are {@code [heads, positions, keys]} rather than {@code [positions, width]}. */
    public boolean perHead() { return this == ATTN_SCORES || this == PATTERN; }

    /** True for the points only some architectures have (QK-norm); every other point exists in every block. */
    public boolean optional() { return this == Q_NORMED || this == K_NORMED; }

    /** The points every architecture has, in order. */
    public static java.util.Set<BlockHook> standard() {
        java.util.EnumSet<BlockHook> s = java.util.EnumSet.allOf(BlockHook.class);
        s.removeIf(BlockHook::optional);
        return s;
    }
}
