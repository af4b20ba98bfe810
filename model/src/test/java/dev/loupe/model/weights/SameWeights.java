package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One set of Gemma 2 weights, every value bf16-representable, that tests write as an HF F32 folder, an HF BF16
 * folder and GGUF files: the copies hold identical values, so every format must give the same activations.
 * The amplitudes make every convention visible (peaked attention patterns, softcaps that bite, norm weights far
 * from 0), unlike initializer-range weights whose near-uniform attention hides most of them.
 *
 * @param config  the model's shape and hyperparameters
 * @param tensors HF state-dict name → values in HF layout (norms as {@code w}, used as {@code 1 + w})
 */
public record SameWeights(ModelConfig config, Map<String, float[]> tensors) {
    private static final List<String> NORMS = List.of("input_layernorm", "post_attention_layernorm",
            "pre_feedforward_layernorm", "post_feedforward_layernorm");

    public static SameWeights random(ModelConfig c, long seed) { return random(c, seed, 1f); }

    /**
     * As {@link #random(ModelConfig, long)} with every amplitude multiplied by {@code scale} (a power of two keeps the
     * values bf16-representable). A small scale gives initializer-sized weights: a near-uniform next-token distribution.
     */
    public static SameWeights random(ModelConfig c, long seed, float scale) {
        SplittableRandom r = new SplittableRandom(seed);
        int h = c.hiddenSize(), inter = c.intermediateSize();
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", bf16Uniform(r, c.vocabSize() * h, scale * 1f));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "self_attn.q_proj.weight", bf16Uniform(r, c.qDim() * h, scale * 0.4f));
            t.put(p + "self_attn.k_proj.weight", bf16Uniform(r, c.kvDim() * h, scale * 0.4f));
            t.put(p + "self_attn.v_proj.weight", bf16Uniform(r, c.kvDim() * h, scale * 0.5f));
            t.put(p + "self_attn.o_proj.weight", bf16Uniform(r, h * c.qDim(), scale * 0.3f));
            t.put(p + "mlp.gate_proj.weight", bf16Uniform(r, inter * h, scale * 0.3f));
            t.put(p + "mlp.up_proj.weight", bf16Uniform(r, inter * h, scale * 0.3f));
            t.put(p + "mlp.down_proj.weight", bf16Uniform(r, h * inter, scale * 0.2f));
            for (String n : NORMS) t.put(p + n + ".weight", bf16Uniform(r, h, scale * 0.5f));
        }
        t.put("model.norm.weight", bf16Uniform(r, h, scale * 0.5f));
        return new SameWeights(c, Collections.unmodifiableMap(t));
    }

    public float[] get(String hfName) {
        float[] v = tensors.get(hfName);
        if (v == null) throw new IllegalArgumentException("no tensor " + hfName);
        return v;
    }

    /** An HF folder: config.json plus model.safetensors in {@code dtype} (F32 or BF16; both exact). */
    public Path writeHf(Path folder, DType dtype) throws IOException {
        Files.createDirectories(folder);
        List<SafetensorsWriter.Tensor> ts = new ArrayList<>();
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            ts.add(SafetensorsWriter.Tensor.ofFloats(e.getKey(), dtype, hfShape(e.getKey()), e.getValue()));
        }
        SafetensorsWriter.write(folder.resolve(SafetensorsShards.SINGLE), Map.of("format", "pt"), ts, 1);
        HfCheckpointWriter.writeConfig(folder.resolve(HfCheckpoint.CONFIG), config, dtype);
        return folder;
    }

    /**
     * A GGUF as llama.cpp's converter writes it: matrices in {@code matrixType} (F32 or BF16), norms in F32 holding
     * {@code 1 + w}, and the query scale in {@code gemma2.attention.scale} (GGUF has no query_pre_attn_scalar).
     */
    public Path writeGguf(Path file, DType matrixType) throws IOException {
        ModelConfig c = config;
        GgufBuilder b = new GgufBuilder().str("general.architecture", "gemma2")
                .u32("gemma2.context_length", c.maxPositions())
                .u32("gemma2.embedding_length", c.hiddenSize())
                .u32("gemma2.block_count", c.numLayers())
                .u32("gemma2.feed_forward_length", c.intermediateSize())
                .u32("gemma2.attention.head_count", c.numHeads())
                .u32("gemma2.attention.head_count_kv", c.numKvHeads())
                .u32("gemma2.attention.key_length", c.headDim())
                .u32("gemma2.attention.value_length", c.headDim())
                .f32("gemma2.rope.freq_base", c.ropeTheta())
                .f32("gemma2.attention.layer_norm_rms_epsilon", c.rmsNormEps())
                .u32("gemma2.attention.sliding_window", c.slidingWindow())
                .f32("gemma2.attn_logit_softcapping", c.attnSoftcap())
                .f32("gemma2.final_logit_softcapping", c.finalSoftcap())
                .f32("gemma2.attention.scale", (float) (1 / Math.sqrt(c.queryPreAttnScalar())))
                .u32("tokenizer.ggml.bos_token_id", c.bosId())
                .u32("tokenizer.ggml.eos_token_id", c.eosId());
        matrix(b, "token_embd.weight", "model.embed_tokens.weight", matrixType);
        for (int l = 0; l < c.numLayers(); l++) {
            String g = "blk." + l + ".", p = "model.layers." + l + ".";
            norm(b, g + "attn_norm.weight", p + "input_layernorm.weight");
            matrix(b, g + "attn_q.weight", p + "self_attn.q_proj.weight", matrixType);
            matrix(b, g + "attn_k.weight", p + "self_attn.k_proj.weight", matrixType);
            matrix(b, g + "attn_v.weight", p + "self_attn.v_proj.weight", matrixType);
            matrix(b, g + "attn_output.weight", p + "self_attn.o_proj.weight", matrixType);
            norm(b, g + "post_attention_norm.weight", p + "post_attention_layernorm.weight");
            norm(b, g + "ffn_norm.weight", p + "pre_feedforward_layernorm.weight");
            matrix(b, g + "ffn_gate.weight", p + "mlp.gate_proj.weight", matrixType);
            matrix(b, g + "ffn_up.weight", p + "mlp.up_proj.weight", matrixType);
            matrix(b, g + "ffn_down.weight", p + "mlp.down_proj.weight", matrixType);
            norm(b, g + "post_ffw_norm.weight", p + "post_feedforward_layernorm.weight");
        }
        norm(b, "output_norm.weight", "model.norm.weight");
        return b.write(file);
    }

    /** GGUF lists dimensions fastest-first: an HF {@code [out, in]} matrix is {@code ne = {in, out}}. */
    private void matrix(GgufBuilder b, String ggufName, String hfName, DType type) {
        long[] s = hfShape(hfName);
        float[] v = get(hfName);
        byte[] data = switch (type) {
            case F32 -> GgufBuilder.f32Bytes(v);
            case BF16 -> {
                ByteBuffer buf = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) buf.putShort(Floats.floatToBf16(f));
                yield buf.array();
            }
            default -> throw new IllegalArgumentException("GGUF copies are F32 or BF16, not " + type);
        };
        b.tensor(ggufName, type == DType.F32 ? 0 : 30, new long[]{s[1], s[0]}, data);
    }

    private void norm(GgufBuilder b, String ggufName, String hfName) {
        float[] w = get(hfName);
        float[] plusOne = new float[w.length];
        for (int i = 0; i < w.length; i++) plusOne[i] = 1f + w[i];
        b.tensor(ggufName, 0, new long[]{w.length}, GgufBuilder.f32Bytes(plusOne));
    }

    private long[] hfShape(String name) {
        ModelConfig c = config;
        long h = c.hiddenSize(), inter = c.intermediateSize();
        if (name.equals("model.embed_tokens.weight")) return new long[]{c.vocabSize(), h};
        if (name.endsWith("q_proj.weight")) return new long[]{c.qDim(), h};
        if (name.endsWith("k_proj.weight") || name.endsWith("v_proj.weight")) return new long[]{c.kvDim(), h};
        if (name.endsWith("o_proj.weight")) return new long[]{h, c.qDim()};
        if (name.endsWith("gate_proj.weight") || name.endsWith("up_proj.weight")) return new long[]{inter, h};
        if (name.endsWith("down_proj.weight")) return new long[]{h, inter};
        return new long[]{h};
    }

    /** Uniform in ±amplitude, rounded to bf16 so that F32 and BF16 files hold the same numbers. */
    private static float[] bf16Uniform(SplittableRandom r, int n, float amplitude) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Floats.bf16ToFloat(Floats.floatToBf16((float) r.nextDouble(-amplitude, amplitude)));
        return v;
    }
}
