package dev.loupe.model.backend;

import dev.loupe.model.arch.Rope;

/**
 * Rotary position embedding angles of {@code rope} for positions {@code [firstPosition, firstPosition + rows)}:
 * {@code [rows, half]} cos and sin tables, {@code half = headDim / 2}, in HF's rotate-half (NEOX) layout, where
 * dimension i of a head is paired with i + half. Gemma 2 checkpoints in both HF and GGUF form use this layout
 * unpermuted. The values depend only on the RoPE, the head size and the positions, so a device backend may keep one
 * table per RoPE for all positions and read this chunk's rows from it.
 */
public record RotaryTable(Rope rope, int firstPosition, int rows, int half, float[] cos, float[] sin) {

    /** Tables for {@code rows} positions from {@code firstPosition}, with frequencies {@code theta^(-2i/headDim)}. */
    public static RotaryTable of(int headDim, double theta, int firstPosition, int rows) {
        return of(headDim, Rope.of((float) theta), firstPosition, rows);
    }

    /** Tables for a layer type's RoPE: frequencies {@code theta^(-2i/headDim) / linearFactor} (transformers' "linear" scaling). */
    public static RotaryTable of(int headDim, Rope rope, int firstPosition, int rows) {
        int half = headDim / 2;
        float[] cos = new float[rows * half], sin = new float[rows * half];
        for (int i = 0; i < half; i++) {
            double invFreq = Math.pow(rope.theta(), -2.0 * i / headDim) / rope.linearFactor();
            for (int t = 0; t < rows; t++) {
                double a = (firstPosition + t) * invFreq;
                cos[t * half + i] = (float) Math.cos(a);
                sin[t * half + i] = (float) Math.sin(a);
            }
        }
        return new RotaryTable(rope, firstPosition, rows, half, cos, sin);
    }

    public int headDim() { return 2 * half; }
}
