package dev.loupe.model.cpu;

import java.lang.foreign.MemorySegment;

/**
 * {@code out = W·x} for one activation row (a generation step). Memory-bandwidth bound: every weight byte is
 * read once, so the work is split into runs of output rows that the threads claim as they go.
 */
final class MatVec {
    private MatVec() {}

    static void run(Parallel par, RowKernels kernels, MemorySegment w, int outDim, int inDim,
                    float[] x, int xOff, float[] out, int outOff) {
        int piece = piece(outDim, par.slots());
        int pieces = (outDim + piece - 1) / piece;
        par.run(pieces, 1, (start, end, slot) -> {
            for (int p = start; p < end; p++) {
                int o0 = p * piece;
                kernels.matVec(w, inDim, x, xOff, out, outOff, o0, Math.min(outDim, o0 + piece));
            }
        });
    }

    /** Rows per piece: about 16 pieces per thread, a multiple of 4 rows, between 16 and 512 rows. */
    static int piece(int outDim, int slots) {
        int target = (outDim + 16 * slots - 1) / (16 * slots);
        return Math.clamp((target + 3) & ~3, 16, 512);
    }
}
