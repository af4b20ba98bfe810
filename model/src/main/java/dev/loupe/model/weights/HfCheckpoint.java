package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.tensor.WeightTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a Hugging Face folder of any Gemma family member ({@code config.json} plus {@code model.safetensors} or sharded
 * safetensors) as memory-mapped {@link ModelWeights}, reading each block's tensors from the architecture's list.
 * Norm weights are stored as {@code w} and used as {@code 1 + w}: the multiplier is computed here once, in float32 as
 * HF does. {@code lm_head.weight}, if present, is ignored: Gemma ties it to the embedding. A multimodal Gemma 3's
 * vision tower is ignored too: only its text model is read.
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
            String text = textPrefix(files, folder);
            WeightTensor embedding = files.tensor(text + Architecture.HF_EMBEDDING);
            embedding.requireShape(c.vocabSize(), c.hiddenSize());
            // No presized list: a corrupt layer count must fail on its first missing tensor, not allocate first.
            List<LayerWeights> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) layers.add(layer(files, c, text, l));
            CheckpointLayers.requireNoneBeyond(files.names(), text + "layers.", c.numLayers(),
                    configJson + ": num_hidden_layers is " + c.numLayers() + " but " + String.join(", ", files.paths().stream().map(Object::toString).toList()));
            float[] finalNorm = normMultiplier(files.tensor(text + Architecture.HF_FINAL_NORM), c.hiddenSize());
            return new ModelWeights(c, embedding, List.copyOf(layers), finalNorm, files);
        } catch (IOException | RuntimeException e) {
            files.close();
            throw e;
        }
    }

    /** The prefix of the text model's tensors: {@code model.}, or where a multimodal checkpoint keeps them. */
    private static String textPrefix(SafetensorsShards files, Path folder) {
        for (String p : TensorName.HF_TEXT_PREFIXES) if (files.has(p + Architecture.HF_EMBEDDING)) return p;
        return TensorName.HF_TEXT_PREFIX; // names the missing model.embed_tokens.weight in the error
    }

    private static LayerWeights layer(SafetensorsShards f, ModelConfig c, String text, int l) {
        Map<LayerTensor, WeightTensor> matrices = new EnumMap<>(LayerTensor.class);
        Map<LayerTensor, float[]> norms = new EnumMap<>(LayerTensor.class);
        for (TensorName t : c.architecture().layerTensors()) {
            WeightTensor w = f.tensor(t.hfAt(text, l));
            long[] shape = t.role().shape(c);
            if (t.role().isMatrix()) matrices.put(t.role(), w.requireShape(shape));
            else norms.put(t.role(), normMultiplier(w, (int) shape[0]));
        }
        return new LayerWeights(matrices, norms);
    }

    /** {@code 1 + w} in float32, the factor HF's Gemma RMSNorm multiplies by. */
    static float[] normMultiplier(WeightTensor w, int width) {
        float[] m = w.requireShape(width).toFloatArray();
        for (int i = 0; i < m.length; i++) m[i] = 1f + m[i];
        return m;
    }
}
