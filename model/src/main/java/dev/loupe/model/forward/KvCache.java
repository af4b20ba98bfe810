package dev.loupe.model.forward;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.Backend;

/**
 * Keys (after RoPE) and values of every layer for the positions processed so far in one sequence, in buffers
 * of the backend (on its device for an accelerator). Grows by doubling up to the model's context length, so a
 * short prompt does not pay for 8k positions.
 */
public final class KvCache {
    private final Backend backend;
    private final int layers;
    private final int kvDim;
    private final int maxPositions;
    private final ActivationBuffer[] keys;
    private final ActivationBuffer[] values;
    private int capacity;
    private int length;

    public KvCache(ModelConfig c, Backend backend) {
        this.backend = backend;
        this.layers = c.numLayers();
        this.kvDim = c.kvDim();
        this.maxPositions = c.maxPositions();
        this.keys = new ActivationBuffer[layers];
        this.values = new ActivationBuffer[layers];
        this.capacity = 0;
    }

    /** Positions held so far (= position of the next token). */
    public int length() { return length; }

    public int maxPositions() { return maxPositions; }

    /** Makes room for positions up to {@code end} (exclusive). */
    void ensure(int end) {
        if (end > maxPositions) {
            throw new BadInputException("sequence of " + end + " positions exceeds the model's context of " + maxPositions);
        }
        if (end <= capacity) return;
        int cap = Math.max(256, capacity);
        while (cap < end) cap *= 2;
        cap = Math.min(cap, maxPositions);
        for (int l = 0; l < layers; l++) {
            keys[l] = grow(keys[l], cap);
            values[l] = grow(values[l], cap);
        }
        capacity = cap;
    }

    private ActivationBuffer grow(ActivationBuffer old, int positions) {
        ActivationBuffer b = backend.allocate(positions * kvDim);
        if (old != null && length > 0) backend.copy(old, 0, b, 0, length * kvDim);
        if (old != null) old.release();
        return b;
    }

    ActivationBuffer keys(int layer) { return keys[layer]; }
    ActivationBuffer values(int layer) { return values[layer]; }

    void advance(int n) { length += n; }

    /** Forgets everything from position {@code newLength} on (to re-run a prompt's suffix, or to reuse a session). */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) throw new IllegalArgumentException("cannot truncate " + length + " positions to " + newLength);
        length = newLength;
    }

    /** Gives every layer's buffers back to the backend; the cache is empty and unusable afterwards. */
    public void release() {
        for (int l = 0; l < layers; l++) {
            if (keys[l] != null) keys[l].release();
            if (values[l] != null) values[l].release();
            keys[l] = values[l] = null;
        }
        capacity = 0;
        length = 0;
    }
}
