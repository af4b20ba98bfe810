package dev.loupe.sae.kernels;

/**
 * Receives the active features of an SAE encode. Calls for one row come from one thread; different rows may
 * be reported concurrently.
 */
@FunctionalInterface
public interface FeatureSink {
    void add(int row, int feature, float value);
}
