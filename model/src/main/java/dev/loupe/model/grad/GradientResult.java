package dev.loupe.model.grad;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ActivationCache;

import java.util.Map;

/**
 * The outcome of a gradient run.
 *
 * @param value      the metric's value
 * @param details    what the metric resolved (metric name, position, target and baseline tokens)
 * @param logits     the logits the metric read
 * @param gradients  d metric / d activation at the captured hook points (same names and shapes as the activations)
 * @param parameters d metric / d weight by tensor name as in the checkpoint (HF names for HF folders); empty unless asked
 */
public record GradientResult(double value, Map<String, Object> details, Metric.Logits logits, ActivationCache gradients,
                             Map<String, ParameterGradient> parameters) {

    /** The gradient at one captured hook point. */
    public Activation gradient(String hook) { return gradients.get(hook); }

    /** The gradient of one weight tensor: {@code shape} as stored, row-major values. */
    public record ParameterGradient(String name, int[] shape, float[] data) {}
}
