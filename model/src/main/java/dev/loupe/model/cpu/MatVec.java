package dev.loupe.model.cpu;

import java.lang.foreign.MemorySegment;

/**
 * {@code out = W·x} for one activation row (a generation step). Memory-bandwidth bound: every weight byte is
 * read once, so the work is split into runs of output rows that the threads claim as they go.
 */
final class MatVec {
    private MatVec() {}

    static void run(Parallel par, Scratch scratch, RowKernels kernels, MemorySegment w, int outDim, int inDim,
                    float[] x, int xOff, float[] out, int outOff) {
        float[] in = x;
        int inOff = xOff;
        if (kernels.reordersActivation()) {
            in = scratch.shared(inDim);
            kernels.reorder(x, xOff, inDim, in);
            inOff = 0;
        }
        float[] xs = in;
        int xsOff = inOff;
        int piece = piece(outDim, par.slots());
        int pieces = (outDim + piece - 1) / piece;
        par.run(pieces, 1, (start, end, slot) -> {
            float[] buf = scratch.slot(slot, Scratch.WEIGHTS, DecodedRows.SCRATCH);
            for (int p = start; p < end; p++) {
                int o0 = p * piece;
                kernels.matVec(w, inDim, xs, xsOff, out, outOff, o0, Math.min(outDim, o0 + piece), buf);
            }
        });
    }

    /** Rows per piece: about 16 pieces per thread, a multiple of 8 rows, between 16 and 512 rows. */
    static int piece(int outDim, int slots) {
        int target = (outDim + 16 * slots - 1) / (16 * slots);
        return Math.clamp((target + 7) & ~7, 16, 512);
    }
}
