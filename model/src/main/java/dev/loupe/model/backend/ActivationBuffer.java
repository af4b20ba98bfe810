package dev.loupe.model.backend;

/**
 * A float tensor that lives where its backend computes: a heap array for the CPU, device memory for an
 * accelerator. The forward pass moves one to the host only where a hook is attached or logits are asked for:
 * {@link #toHost()} for hooks to read, {@link #fromHost(float[])} when a hook may have changed it.
 */
public interface ActivationBuffer {

    /** Number of floats. */
    int size();

    /**
     * The values as a host array of exactly {@link #size()} floats. A heap buffer returns its own array (no copy;
     * writes to it are writes to the buffer); a device buffer returns a fresh copy.
     */
    float[] toHost();

    /** Replaces the values with {@code data} ({@link #size()} floats); a no-op when data is this buffer's own array. */
    void fromHost(float[] data);

    /**
     * Gives the buffer's memory back to its backend now (a device region for an accelerator; nothing for a heap
     * buffer, which the collector reclaims). The buffer must not be used afterwards. Whoever allocates a buffer
     * releases it: device memory is not reclaimed by the Java collector.
     */
    default void release() {}
}
