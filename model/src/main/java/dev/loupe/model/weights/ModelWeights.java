package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.tensor.WeightTensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A Gemma 2 checkpoint ready to run: config, tied embedding {@code [vocab, hidden]}, blocks, final norm
 * multiplier (already {@code 1 + w}). Closing it unmaps the files behind the tensors.
 */
public record ModelWeights(
        ModelConfig config,
        WeightTensor embedding,
        List<LayerWeights> layers,
        float[] finalNorm,
        AutoCloseable resources) implements AutoCloseable {

    /** Every matrix: the embedding, then each block's in the architecture's order (what a device backend uploads). */
    public List<WeightTensor> matrices() {
        List<WeightTensor> m = new ArrayList<>(List.of(embedding));
        for (LayerWeights l : layers) {
            for (TensorName t : config.architecture().layerTensors()) if (t.role().isMatrix()) m.add(l.matrix(t.role()));
        }
        return m;
    }

    /** Every norm multiplier: the final norm, then each block's in the architecture's order. */
    public List<float[]> norms() {
        List<float[]> v = new ArrayList<>(List.<float[]>of(finalNorm));
        for (LayerWeights l : layers) {
            for (TensorName t : config.architecture().layerTensors()) if (!t.role().isMatrix()) v.add(l.norm(t.role()));
        }
        return v;
    }

    @Override
    public void close() {
        try {
            if (resources != null) resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing weights: " + e.getMessage(), e);
        }
    }
}
