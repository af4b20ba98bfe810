package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.WeightTensor;

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

    @Override
    public void close() {
        try {
            if (resources != null) resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing weights: " + e.getMessage(), e);
        }
    }
}
