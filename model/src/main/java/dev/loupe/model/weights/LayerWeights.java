package dev.loupe.model.weights;

import dev.loupe.model.tensor.WeightTensor;

/**
 * One transformer block's weights. Linear weights are {@code [out, in]} in stored precision; norm
 * weights are on the heap as the multiplier itself, i.e. already {@code 1 + w} for HF checkpoints.
 */
public record LayerWeights(
        float[] inputNorm,
        WeightTensor q,
        WeightTensor k,
        WeightTensor v,
        WeightTensor o,
        float[] postAttentionNorm,
        float[] preFeedforwardNorm,
        WeightTensor gate,
        WeightTensor up,
        WeightTensor down,
        float[] postFeedforwardNorm) {}
