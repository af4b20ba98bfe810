package dev.loupe.sae;

/**
 * Undoes SAELens's run-time input normalisation after decoding: row {@code p} of a reconstruction becomes
 * {@code r · scale[p] + shift[p]}. Kept with the features it belongs to, since it depends on the input rows.
 *
 * @param scale per-row factor
 * @param shift per-row offset added to every dimension, or null for none
 */
record PositionScaling(float[] scale, float[] shift) {
    float scale(int row) { return scale[row]; }

    float shift(int row) { return shift == null ? 0f : shift[row]; }
}
