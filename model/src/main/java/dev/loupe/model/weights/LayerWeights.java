package dev.loupe.model.weights;

import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.tensor.WeightTensor;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * One transformer block's tensors by role ({@link LayerTensor}): matrices are {@code [out, in]} in stored precision;
 * norm weights are on the heap as the multiplier itself, i.e. already {@code 1 + w} for HF checkpoints. Which roles
 * are present is the architecture's business; an absent role reads as null.
 */
public record LayerWeights(Map<LayerTensor, WeightTensor> matrices, Map<LayerTensor, float[]> norms) {

    public LayerWeights {
        EnumMap<LayerTensor, WeightTensor> m = new EnumMap<>(LayerTensor.class);
        m.putAll(matrices);
        EnumMap<LayerTensor, float[]> n = new EnumMap<>(LayerTensor.class);
        n.putAll(norms);
        matrices = Collections.unmodifiableMap(m);
        norms = Collections.unmodifiableMap(n);
        for (LayerTensor r : matrices.keySet()) if (!r.isMatrix()) throw new IllegalArgumentException(r + " is a norm, not a matrix");
        for (LayerTensor r : norms.keySet()) if (r.isMatrix()) throw new IllegalArgumentException(r + " is a matrix, not a norm");
    }

    public WeightTensor matrix(LayerTensor role) { return matrices.get(role); }

    public float[] norm(LayerTensor role) { return norms.get(role); }

    /** The same block with some roles replaced (a test swapping storage types, a quantizer). */
    public LayerWeights withMatrices(Map<LayerTensor, WeightTensor> replaced) {
        Map<LayerTensor, WeightTensor> m = new EnumMap<>(LayerTensor.class);
        m.putAll(matrices);
        m.putAll(replaced);
        return new LayerWeights(m, norms);
    }

    public float[] inputNorm() { return norm(LayerTensor.INPUT_NORM); }
    public WeightTensor q() { return matrix(LayerTensor.Q); }
    public WeightTensor k() { return matrix(LayerTensor.K); }
    public WeightTensor v() { return matrix(LayerTensor.V); }
    public WeightTensor o() { return matrix(LayerTensor.O); }
    public float[] qNorm() { return norm(LayerTensor.Q_NORM); }
    public float[] kNorm() { return norm(LayerTensor.K_NORM); }
    public float[] postAttentionNorm() { return norm(LayerTensor.POST_ATTENTION_NORM); }
    public float[] preFeedforwardNorm() { return norm(LayerTensor.PRE_FEEDFORWARD_NORM); }
    public WeightTensor gate() { return matrix(LayerTensor.GATE); }
    public WeightTensor up() { return matrix(LayerTensor.UP); }
    public WeightTensor down() { return matrix(LayerTensor.DOWN); }
    public float[] postFeedforwardNorm() { return norm(LayerTensor.POST_FEEDFORWARD_NORM); }
}
