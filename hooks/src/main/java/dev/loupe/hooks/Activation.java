package dev.loupe.hooks;

import java.util.Arrays;

/**
 * The tensor passing through a hook point for the positions being computed in one call: row-major
 * {@code float} data of {@code shape}. Most hook points are {@code [positions, dim]}; attention scores
 * and patterns are {@code [heads, positions, keys]}. A hook that changes {@link #data()} in place replaces
 * the activation for the rest of the forward pass.
 *
 * @param name          the hook point's name
 * @param shape         the tensor's shape
 * @param data          row-major values; may be a view into the engine's working buffer, so copy it to keep it
 * @param firstPosition absolute sequence position of the first row (0 for a prompt, n for the n-th generated token)
 */
public record Activation(String name, int[] shape, float[] data, int firstPosition) {
    public Activation {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " holds " + n
                    + " values but data has " + data.length);
        }
    }

    /** Number of positions in this call (the first dimension, or the second for {@code [heads, positions, keys]}). */
    public int positions() { return shape.length == 3 ? shape[1] : shape[0]; }

    /** Size of the last dimension. */
    public int width() { return shape[shape.length - 1]; }

    /** Value at {@code [row, col]} of a 2-D activation. */
    public float get(int row, int col) { return data[row * width() + col]; }

    /** Adds {@code v} (length {@link #width()}) to every row of a 2-D activation. */
    public void addToEveryRow(float[] v, float scale) {
        int w = width();
        if (v.length != w) throw new IllegalArgumentException(name + ": vector of length " + v.length + ", expected " + w);
        for (int off = 0; off < data.length; off += w) {
            for (int i = 0; i < w; i++) data[off + i] += scale * v[i];
        }
    }

    /** The L2 norm of every row of a 2-D activation ({@code [positions, dim]}), e.g. the residual stream's size per token. */
    public double[] rowNorms() {
        if (shape.length != 2) throw new IllegalArgumentException(name + ": row norms need [positions, dim], got rank " + shape.length);
        int w = width();
        double[] out = new double[shape[0]];
        for (int r = 0; r < out.length; r++) {
            double s = 0;
            for (int i = 0; i < w; i++) s += (double) data[r * w + i] * data[r * w + i];
            out[r] = Math.sqrt(s);
        }
        return out;
    }

    /** A copy that owns its data (the engine reuses its buffers between calls). */
    public Activation copy() { return new Activation(name, shape.clone(), data.clone(), firstPosition); }

    @Override public boolean equals(Object o) {
        return o instanceof Activation a && name.equals(a.name) && Arrays.equals(shape, a.shape)
                && Arrays.equals(data, a.data) && firstPosition == a.firstPosition;
    }

    @Override public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override public String toString() { return name + Arrays.toString(shape) + "@" + firstPosition; }
}
