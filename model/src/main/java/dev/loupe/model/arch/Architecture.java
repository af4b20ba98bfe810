package dev.loupe.model.arch;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.BlockHook;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a Gemma family member is, as data: the HF loader, the GGUF loader, the synthetic checkpoint writer, the GGUF
 * exporter, the backend's weight upload and the forward pass all read it, so a member differs from another here and
 * nowhere else. The numbers of one checkpoint (sizes, layer types, RoPE, softcap values) are its
 * {@link dev.loupe.model.ModelConfig}; each member's description lives in its own package
 * ({@code arch.gemma1}, {@code arch.gemma2}, {@code arch.gemma3}).
 *
 * @param name           the member's name as Loupe reports it (the HF model_type of its text model)
 * @param hfClass        transformers' causal-LM class, as config.json's {@code architectures} names it
 * @param hfModelTypes   the {@code model_type} values of configs holding this member (the first is the text model's)
 * @param ggufName       {@code general.architecture} of its GGUF files
 * @param layerTensors   the tensors of each block, each role once, with their names per format
 * @param softcaps       whether the config's {@code attn_logit_softcapping}/{@code final_logit_softcapping} apply
 *                       (transformers ignores them for Gemma 3 even when set)
 * @param sliding        which layers slide when the config has no {@code layer_types}
 * @param queryPreAttnScalar whether scores are scaled by {@code query_pre_attn_scalar^-0.5} (else {@code head_dim^-0.5})
 * @param hfDefaults     the values transformers' config class uses for absent fields
 */
public record Architecture(
        String name,
        String hfClass,
        List<String> hfModelTypes,
        String ggufName,
        List<TensorName> layerTensors,
        boolean softcaps,
        SlidingPattern sliding,
        boolean queryPreAttnScalar,
        Map<String, Number> hfDefaults) {

    public Architecture {
        hfModelTypes = List.copyOf(hfModelTypes);
        layerTensors = List.copyOf(layerTensors);
        hfDefaults = Map.copyOf(hfDefaults);
        EnumSet<LayerTensor> seen = EnumSet.noneOf(LayerTensor.class);
        for (TensorName t : layerTensors) {
            if (!seen.add(t.role())) throw new IllegalArgumentException(name + ": tensor role " + t.role() + " listed twice");
        }
    }

    /** The whole-model tensors every member has (the embedding is tied to the unembedding). */
    public static final String HF_EMBEDDING = "embed_tokens.weight", GGUF_EMBEDDING = "token_embd.weight";
    public static final String HF_FINAL_NORM = "norm.weight", GGUF_FINAL_NORM = "output_norm.weight";

    /** True when the blocks have a tensor of this role (e.g. the post-attention norm, QK-norm). */
    public boolean has(LayerTensor role) {
        for (TensorName t : layerTensors) if (t.role() == role) return true;
        return false;
    }

    /** QK-norm: per-head RMSNorm of queries and keys before RoPE. */
    public boolean qkNorm() { return has(LayerTensor.Q_NORM); }

    /** The hook points of each block: the standard ones, plus the QK-normed queries and keys where there is QK-norm. */
    public Set<BlockHook> blockHooks() {
        Set<BlockHook> s = EnumSet.copyOf(BlockHook.standard());
        if (qkNorm()) s.addAll(List.of(BlockHook.Q_NORMED, BlockHook.K_NORMED));
        return s;
    }

    /** The default of a config field (see {@link #hfDefaults}). */
    public Number hfDefault(String field) {
        Number n = hfDefaults.get(field);
        if (n == null) throw new BadInputException(name + ": no default for " + field);
        return n;
    }

    @Override
    public String toString() { return name; }
}
