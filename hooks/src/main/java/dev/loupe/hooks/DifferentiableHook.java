package dev.loupe.hooks;

/**
 * A hook the backward pass can differentiate through: a replacing hook (steering, an SAE splice) says how the
 * gradient of its output becomes the gradient of its input. In a gradient run a hook that is not one of these may
 * only read its activation; one that changes it is refused, since its effect on the gradient is unknown.
 */
public interface DifferentiableHook extends Hook {

    /**
     * Takes the gradient back through this hook.
     *
     * @param input         the activation as it reached this hook in the forward pass (a copy: free to read)
     * @param gradient      on entry, d metric / d (this hook's output), shaped like the activation; replace its data in
     *                      place by d metric / d (this hook's input)
     * @param gradientHooks for a {@link CompositeHook}, the gradient hooks at its own points (so a spliced SAE can show
     *                      the gradient of its features); {@link ChildHooks#NONE} otherwise
     */
    void backward(Activation input, Activation gradient, ChildHooks gradientHooks);

    /**
     * {@code hook} declared additive: its output is its input plus something that does not depend on the input (a
     * steering vector), so the gradient passes through unchanged.
     */
    static DifferentiableHook additive(Hook hook) {
        return new DifferentiableHook() {
            @Override public void apply(Activation activation) { hook.apply(activation); }

            @Override public void backward(Activation input, Activation gradient, ChildHooks gradientHooks) {}

            @Override public String toString() { return "additive(" + hook + ")"; }
        };
    }
}
