package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.WeightTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a Hugging Face Gemma 2 folder ({@code config.json} plus {@code model.safetensors} or sharded
 * safetensors) as memory-mapped {@link ModelWeights}. Norm weights are stored as {@code w} and used as
 * {@code 1 + w}: the multiplier is computed here once, in float32 as HF does. {@code lm_head.weight}, if
 * present, is ignored: Gemma 2 ties it to the embedding.
 */
public final class HfCheckpoint {
    public static final String CONFIG = "config.json";

    private HfCheckpoint() {}

    public static ModelWeights load(Path folder) throws IOException {
        Path configJson = folder.resolve(CONFIG);
        if (!Files.isRegularFile(configJson)) throw new IOException(folder + ": no " + CONFIG + " (expected a Hugging Face model folder)");
        // Validate the config before mapping gigabytes of shards.
        ModelConfig c = HfConfig.read(configJson);
        SafetensorsShards files = SafetensorsShards.open(folder);
        try {
            WeightTensor embedding = files.tensor("model.embed_tokens.weight");
            embedding.requireShape(c.vocabSize(), c.hiddenSize());
            // No presized list: a corrupt layer count must fail on its first missing tensor, not allocate first.
            List<LayerWeights> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) layers.add(layer(files, c, l));
            CheckpointLayers.requireNoneBeyond(files.names(), "model.layers.", c.numLayers(),
                    configJson + ": num_hidden_layers is " + c.numLayers() + " but " + String.join(", ", files.paths().stream().map(Object::toString).toList()));
            float[] finalNorm = normMultiplier(files.tensor("model.norm.weight"), c.hiddenSize());
            return new ModelWeights(c, embedding, List.copyOf(layers), finalNorm, files);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    private static LayerWeights layer(SafetensorsShards f, ModelConfig c, int l) {
        String p = "model.layers." + l + ".";
        int h = c.hiddenSize(), inter = c.intermediateSize();
        return new LayerWeights(
                normMultiplier(f.tensor(p + "input_layernorm.weight"), h),
                f.tensor(p + "self_attn.q_proj.weight").requireShape(c.qDim(), h),
                f.tensor(p + "self_attn.k_proj.weight").requireShape(c.kvDim(), h),
                f.tensor(p + "self_attn.v_proj.weight").requireShape(c.kvDim(), h),
                f.tensor(p + "self_attn.o_proj.weight").requireShape(h, c.qDim()),
                normMultiplier(f.tensor(p + "post_attention_layernorm.weight"), h),
                normMultiplier(f.tensor(p + "pre_feedforward_layernorm.weight"), h),
                f.tensor(p + "mlp.gate_proj.weight").requireShape(inter, h),
                f.tensor(p + "mlp.up_proj.weight").requireShape(inter, h),
                f.tensor(p + "mlp.down_proj.weight").requireShape(h, inter),
                normMultiplier(f.tensor(p + "post_feedforward_layernorm.weight"), h));
    }

    /** {@code 1 + w} in float32, the factor HF's Gemma RMSNorm multiplies by. */
    static float[] normMultiplier(WeightTensor w, int hidden) {
        float[] m = w.requireShape(hidden).toFloatArray();
        for (int i = 0; i < m.length; i++) m[i] = 1f + m[i];
        return m;
    }
}
