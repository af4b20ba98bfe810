package dev.loupe.model.forward;

import dev.loupe.model.Gemma2Config;

import java.util.Arrays;

/**
 * Keys (after RoPE) and values of every layer for the positions processed so far in one sequence.
 * Grows by doubling up to the model's context length, so a short prompt does not pay for 8k positions.
 */
public final class KvCache {
    private final int layers;
    private final int kvDim;
    private final int maxPositions;
    private final float[][] keys;
    private final float[][] values;
    private int capacity;
    private int length;

    public KvCache(Gemma2Config c) {
        this.layers = c.numLayers();
        this.kvDim = c.kvDim();
        this.maxPositions = c.maxPositions();
        this.keys = new float[layers][];
        this.values = new float[layers][];
        this.capacity = 0;
        for (int l = 0; l < layers; l++) { keys[l] = new float[0]; values[l] = new float[0]; }
    }

    /** Positions held so far (= position of the next token). */
    public int length() { return length; }

    public int maxPositions() { return maxPositions; }

    /** Makes room for positions up to {@code end} (exclusive). */
    void ensure(int end) {
        if (end > maxPositions) {
            throw new IllegalArgumentException("sequence of " + end + " positions exceeds the model's context of " + maxPositions);
        }
        if (end <= capacity) return;
        int cap = Math.max(256, capacity);
        while (cap < end) cap *= 2;
        cap = Math.min(cap, maxPositions);
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], cap * kvDim);
            values[l] = Arrays.copyOf(values[l], cap * kvDim);
        }
        capacity = cap;
    }

    float[] keys(int layer) { return keys[layer]; }
    float[] values(int layer) { return values[layer]; }

    void advance(int n) { length += n; }

    /** Forgets everything from position {@code newLength} on (to re-run a prompt's suffix, or to reuse a session). */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) throw new IllegalArgumentException("cannot truncate " + length + " positions to " + newLength);
        length = newLength;
    }
}
