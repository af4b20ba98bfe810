package dev.loupe.hooks;

/**
 * Code run when an activation passes a hook point. It may read {@link Activation#data()} or change it in
 * place to replace the activation. Runs during prompt processing and during every generation step.
 */
@FunctionalInterface
public interface Hook {
    void apply(Activation activation);
}
