package dev.loupe.model.grad;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.List;

/**
 * What one gradient run computes: the metric, the hook points whose gradients to keep (names or globs), whether
 * to compute every weight's gradient, the forward hooks to differentiate through (steering, SAE splices), the
 * gradient hooks that read or replace gradients as they flow (TransformerLens backward hooks), and what the
 * linearization holds constant.
 *
 * @param metric         the scalar differentiated
 * @param capture        hook points (names or globs) whose gradients the result keeps
 * @param parameters     also compute d metric / d every weight tensor
 * @param hooks          forward hooks; one that replaces its activation must be a {@link dev.loupe.hooks.DifferentiableHook}
 * @param gradientHooks  hooks that see {@code d metric / d activation} at their points (replace it in place to change what flows on)
 * @param linearization  what is held constant
 * @param memory         whether the forward activations are kept for the backward pass or recomputed layer by layer
 */
public record GradientRequest(Metric metric, List<String> capture, boolean parameters, HookSet hooks, HookSet gradientHooks,
                              Linearization linearization, Memory memory) {

    /** How the backward pass gets each layer's forward activations. */
    public enum Memory {
        /** Keep every layer's activations when they fit in a quarter of the heap, else recompute. */
        AUTO,
        /** Keep every layer's activations: fastest, memory grows with layers × positions. */
        KEEP,
        /** Keep only each layer's input and recompute the layer in the backward pass (checkpointing). */
        RECOMPUTE
    }

    public GradientRequest {
        if (metric == null) throw BadInputException.of("metric", "required");
        capture = List.copyOf(capture);
    }

    public static GradientRequest of(Metric metric) {
        return new GradientRequest(metric, List.of(), false, HookSet.empty(), HookSet.empty(), Linearization.NONE, Memory.AUTO);
    }

    /** Also keeps the gradients at these hook points (names or globs). */
    public GradientRequest capturing(String... globs) {
        List<String> c = new ArrayList<>(capture);
        c.addAll(List.of(globs));
        return new GradientRequest(metric, c, parameters, hooks, gradientHooks, linearization, memory);
    }

    public GradientRequest withParameters(boolean on) {
        return new GradientRequest(metric, capture, on, hooks, gradientHooks, linearization, memory);
    }

    public GradientRequest withHooks(HookSet more) {
        return new GradientRequest(metric, capture, parameters, hooks.with(more), gradientHooks, linearization, memory);
    }

    public GradientRequest withGradientHooks(HookSet more) {
        return new GradientRequest(metric, capture, parameters, hooks, gradientHooks.with(more), linearization, memory);
    }

    public GradientRequest linearized(Linearization l) {
        return new GradientRequest(metric, capture, parameters, hooks, gradientHooks, l, memory);
    }

    public GradientRequest withMemory(Memory m) {
        return new GradientRequest(metric, capture, parameters, hooks, gradientHooks, linearization, m);
    }
}
