package dev.loupe.sae;

import dev.loupe.errors.BadInputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * SAE feature activations for a run of positions, stored sparsely: for each position the active feature ids
 * and their values, sorted by value (largest first, ties by id). Positions are rows {@code 0..positions-1}
 * of the encoded activation; {@link #firstPosition()} is the absolute sequence position of row 0.
 */
public final class SparseFeatures {
    /** One active feature at one position. */
    public record Feature(int id, float value) {}

    private final int dSae;
    private final int firstPosition;
    private final int[] offsets;
    private final int[] ids;
    private final float[] values;
    /** Per-position affine map applied after decoding (SAELens run-time normalisation), or null. */
    private final PositionScaling scaling;

    SparseFeatures(int dSae, int firstPosition, int[] offsets, int[] ids, float[] values, PositionScaling scaling) {
        if (offsets.length == 0 || offsets[0] != 0 || offsets[offsets.length - 1] != ids.length || ids.length != values.length) {
            throw new IllegalArgumentException("inconsistent sparse feature arrays");
        }
        this.dSae = dSae;
        this.firstPosition = firstPosition;
        this.offsets = offsets;
        this.ids = ids;
        this.values = values;
        this.scaling = scaling;
    }

    /**
     * Builds sparse features from per-position lists (ids and values of equal length per position); values are
     * sorted here, zeros are dropped.
     */
    public static SparseFeatures of(int dSae, int firstPosition, List<int[]> idsPerPosition, List<float[]> valuesPerPosition) {
        if (idsPerPosition.size() != valuesPerPosition.size()) {
            throw new IllegalArgumentException("ids for " + idsPerPosition.size() + " positions, values for " + valuesPerPosition.size());
        }
        Builder b = new Builder(dSae, firstPosition, idsPerPosition.size());
        for (int p = 0; p < idsPerPosition.size(); p++) {
            int[] id = idsPerPosition.get(p);
            float[] v = valuesPerPosition.get(p);
            if (id.length != v.length) throw new IllegalArgumentException("position " + p + ": " + id.length + " ids, " + v.length + " values");
            for (int i = 0; i < id.length; i++) b.add(p, id[i], v[i]);
        }
        return b.build(null);
    }

    /** Sparse form of a dense {@code [positions, dSae]} row-major array: every non-zero entry is active. */
    public static SparseFeatures fromDense(float[] dense, int positions, int dSae, int firstPosition) {
        if ((long) positions * dSae != dense.length) {
            throw new IllegalArgumentException("dense array of " + dense.length + " values is not [" + positions + ", " + dSae + "]");
        }
        Builder b = new Builder(dSae, firstPosition, positions);
        for (int p = 0; p < positions; p++) {
            int off = p * dSae;
            for (int f = 0; f < dSae; f++) if (dense[off + f] != 0f) b.add(p, f, dense[off + f]);
        }
        return b.build(null);
    }

    public int positions() { return offsets.length - 1; }

    public int dSae() { return dSae; }

    public int firstPosition() { return firstPosition; }

    /** Number of active features at row {@code pos}. */
    public int l0(int pos) { return offsets[pos + 1] - offsets[pos]; }

    /** L0 of every row. */
    public int[] l0() {
        int[] out = new int[positions()];
        for (int p = 0; p < out.length; p++) out[p] = l0(p);
        return out;
    }

    /** Active features over all rows. */
    public long totalActive() { return ids.length; }

    /** Active feature ids at a row, largest activation first. */
    public int[] ids(int pos) { return Arrays.copyOfRange(ids, offsets[pos], offsets[pos + 1]); }

    /** Activations at a row, largest first, matching {@link #ids(int)}. */
    public float[] values(int pos) { return Arrays.copyOfRange(values, offsets[pos], offsets[pos + 1]); }

    /** The {@code k} strongest features at a row (fewer if fewer are active). */
    public List<Feature> topK(int pos, int k) {
        int n = Math.min(k, l0(pos));
        List<Feature> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(new Feature(ids[offsets[pos] + i], values[offsets[pos] + i]));
        return out;
    }

    /** The activation of {@code feature} at a row (0 when inactive). */
    public float get(int pos, int feature) {
        for (int i = offsets[pos]; i < offsets[pos + 1]; i++) if (ids[i] == feature) return values[i];
        return 0f;
    }

    /** Dense {@code [positions, dSae]} row-major activations. */
    public float[] dense() {
        float[] out = new float[Math.multiplyExact(positions(), dSae)];
        for (int p = 0; p < positions(); p++) {
            for (int i = offsets[p]; i < offsets[p + 1]; i++) out[p * dSae + ids[i]] = values[i];
        }
        return out;
    }

    /** Dense activations of one row. */
    public float[] dense(int pos) {
        float[] out = new float[dSae];
        for (int i = offsets[pos]; i < offsets[pos + 1]; i++) out[ids[i]] = values[i];
        return out;
    }

    /** Calls {@code visitor} for every active (row, feature, value), rows in order. */
    public void forEach(Visitor visitor) {
        for (int p = 0; p < positions(); p++) {
            for (int i = offsets[p]; i < offsets[p + 1]; i++) visitor.visit(p, ids[i], values[i]);
        }
    }

    @FunctionalInterface
    public interface Visitor {
        void visit(int row, int feature, float value);
    }

    PositionScaling scaling() { return scaling; }

    int offset(int pos) { return offsets[pos]; }

    int idAt(int i) { return ids[i]; }

    float valueAt(int i) { return values[i]; }

    /** The same activations carrying a decode-time scaling (used by the encoder). */
    SparseFeatures withScaling(PositionScaling s) { return new SparseFeatures(dSae, firstPosition, offsets, ids, values, s); }

    @Override public String toString() {
        return "SparseFeatures[" + positions() + " positions, d_sae " + dSae + ", " + ids.length + " active]";
    }

    /** Accumulates features row by row; rows may be filled in any order. */
    static final class Builder {
        private final int dSae, firstPosition;
        private final int[][] rowIds;
        private final float[][] rowValues;
        private final int[] counts;

        Builder(int dSae, int firstPosition, int positions) {
            this.dSae = dSae;
            this.firstPosition = firstPosition;
            this.rowIds = new int[positions][];
            this.rowValues = new float[positions][];
            this.counts = new int[positions];
        }

        void add(int pos, int id, float value) {
            if (id < 0 || id >= dSae) throw new BadInputException("feature " + id + " out of range [0, " + dSae + ")");
            if (value == 0f) return;
            int n = counts[pos];
            if (rowIds[pos] == null) {
                rowIds[pos] = new int[16];
                rowValues[pos] = new float[16];
            } else if (n == rowIds[pos].length) {
                rowIds[pos] = Arrays.copyOf(rowIds[pos], n * 2);
                rowValues[pos] = Arrays.copyOf(rowValues[pos], n * 2);
            }
            rowIds[pos][n] = id;
            rowValues[pos][n] = value;
            counts[pos] = n + 1;
        }

        /** Replaces a whole row (ids and values of equal length, zeros allowed and dropped). */
        void setRow(int pos, int[] ids, float[] values, int n) {
            counts[pos] = 0;
            rowIds[pos] = null;
            rowValues[pos] = null;
            for (int i = 0; i < n; i++) add(pos, ids[i], values[i]);
        }

        SparseFeatures build(PositionScaling scaling) {
            int positions = counts.length;
            int[] offsets = new int[positions + 1];
            for (int p = 0; p < positions; p++) offsets[p + 1] = Math.addExact(offsets[p], counts[p]);
            int[] ids = new int[offsets[positions]];
            float[] values = new float[offsets[positions]];
            for (int p = 0; p < positions; p++) {
                sortRow(rowIds[p], rowValues[p], counts[p], ids, values, offsets[p]);
            }
            return new SparseFeatures(dSae, firstPosition, offsets, ids, values, scaling);
        }

        /** Orders one row by value descending, then id ascending, into the output arrays. */
        private static void sortRow(int[] id, float[] v, int n, int[] ids, float[] values, int at) {
            if (n == 0) return;
            long[] keys = new long[n];
            for (int i = 0; i < n; i++) keys[i] = ((long) sortable(-v[i]) << 32) | id[i];
            Arrays.sort(keys);
            for (int i = 0; i < n; i++) {
                int f = (int) keys[i];
                ids[at + i] = f;
                // Find the value again via the key's high half rather than a second lookup table.
                values[at + i] = -unsortable((int) (keys[i] >> 32));
            }
        }

        /** Maps float order onto signed int order (NaN aside). */
        private static int sortable(float f) {
            int b = Float.floatToRawIntBits(f);
            return b ^ ((b >> 31) & 0x7fffffff);
        }

        private static float unsortable(int s) {
            return Float.intBitsToFloat(s ^ ((s >> 31) & 0x7fffffff));
        }
    }
}
