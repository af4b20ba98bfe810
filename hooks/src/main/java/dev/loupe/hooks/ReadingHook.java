package dev.loupe.hooks;

/**
 * A hook that only reads the activation and never changes {@link Activation#data()} (a cache, a probe, a plot).
 * Knowing that lets an engine deliver the firing later than the computation, e.g. assisted generation, which
 * computes candidate positions that may be thrown away and fires reading hooks only for the positions it keeps.
 * A hook not marked so is taken to replace its activation.
 */
@FunctionalInterface
public interface ReadingHook extends Hook {}
