package dev.loupe.sae.kernels;

/**
 * Sparse coefficients for a decode: row r holds {@code ids[offsets[r] .. offsets[r+1])} with {@code coefficients}
 * at the same indices (CSR layout).
 */
public record SparseRows(int[] offsets, int[] ids, float[] coefficients) {
    public int rows() { return offsets.length - 1; }
}
