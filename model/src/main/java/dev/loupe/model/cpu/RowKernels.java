package dev.loupe.model.cpu;

import dev.loupe.model.tensor.DType;

import java.lang.foreign.MemorySegment;

/**
 * The two primitives every storage format provides, reading its rows straight from the (memory-mapped)
 * segment: a matrix-vector product over a range of rows, and decoding a slice of one row to floats for the
 * blocked matrix-matrix kernels. Each format has its own class with its own loops, so that every hot loop
 * is monomorphic and the Vector API calls in it are intrinsified.
 */
sealed interface RowKernels permits F32RowKernels, F16RowKernels, Bf16RowKernels, Q8RowKernels, Q4RowKernels,
        Q4KRowKernels, Q5KRowKernels, Q6KRowKernels {

    /**
     * {@code out[outOff + o] = Σ_i W[o, i] · x[xOff + i]} for {@code rowStart ≤ o < rowEnd}, where W has
     * {@code cols} columns and x is laid out by {@link #reorder} if {@link #reordersActivation()}. {@code buf}
     * is scratch of at least {@link DecodedRows#SCRATCH} floats.
     */
    void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                float[] buf);

    /**
     * {@code dst[dstOff + j] = W[row, col + j]} for {@code j < count}. For quantized formats {@code col} and
     * {@code count} are multiples of 32 (a Q8_0/Q4_0 block, a k-quant sub-block); callers' chunks and tiles are.
     */
    void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff);

    /** Whether {@link #matVec} reads the activation row in a reordered layout, written by {@link #reorder}. */
    default boolean reordersActivation() { return false; }

    /** Writes activation row {@code x[xOff .. xOff+cols)} to {@code dst[0 .. cols)} in the layout {@link #matVec} reads. */
    default void reorder(float[] x, int xOff, int cols, float[] dst) { System.arraycopy(x, xOff, dst, 0, cols); }

    static RowKernels of(DType type) {
        return switch (type) {
            case F32 -> F32RowKernels.INSTANCE;
            case F16 -> F16RowKernels.INSTANCE;
            case BF16 -> Bf16RowKernels.INSTANCE;
            case Q8_0 -> Q8RowKernels.INSTANCE;
            case Q4_0 -> Q4RowKernels.INSTANCE;
            case Q4_K -> Q4KRowKernels.INSTANCE;
            case Q5_K -> Q5KRowKernels.INSTANCE;
            case Q6_K -> Q6KRowKernels.INSTANCE;
        };
    }
}
