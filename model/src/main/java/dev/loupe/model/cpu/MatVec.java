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

    /**
     * {@code outs[j] = W_j·x} for several matrices of {@code inDim} columns that read the same activation row
     * (q/k/v, gate/up), as one job: the threads meet once instead of once per matrix, and the activation is
     * laid out once per kernel type. Pieces of all matrices are claimed from one counter, so a thread that
     * finishes its share of one matrix goes on with the next.
     */
    static void runEach(Parallel par, Scratch scratch, RowKernels[] kernels, MemorySegment[] ws, int[] outDims, int inDim,
                        float[] x, int xOff, float[][] outs) {
        int n = ws.length;
        float[][] xs = new float[n][];
        int[] xsOff = new int[n];
        int[] firstPiece = new int[n + 1];
        int[] pieceRows = new int[n];
        for (int j = 0; j < n; j++) {
            xs[j] = x;
            xsOff[j] = xOff;
            if (kernels[j].reordersActivation()) {
                int same = 0;
                while (same < j && kernels[same] != kernels[j]) same++;
                if (same < j) {
                    xs[j] = xs[same];
                } else {
                    xs[j] = scratch.shared(j, inDim);
                    kernels[j].reorder(x, xOff, inDim, xs[j]);
                }
                xsOff[j] = 0;
            }
            pieceRows[j] = piece(outDims[j], par.slots());
            firstPiece[j + 1] = firstPiece[j] + (outDims[j] + pieceRows[j] - 1) / pieceRows[j];
        }
        par.run(firstPiece[n], 1, (start, end, slot) -> {
            float[] buf = scratch.slot(slot, Scratch.WEIGHTS, DecodedRows.SCRATCH);
            int j = 0;
            for (int p = start; p < end; p++) {
                while (p >= firstPiece[j + 1]) j++;
                int o0 = (p - firstPiece[j]) * pieceRows[j];
                kernels[j].matVec(ws[j], inDim, xs[j], xsOff[j], outs[j], 0, o0, Math.min(outDims[j], o0 + pieceRows[j]), buf);
            }
        });
    }

    /** Rows per piece: about 16 pieces per thread, a multiple of 8 rows, between 16 and 512 rows. */
    static int piece(int outDim, int slots) {
        int target = (outDim + 16 * slots - 1) / (16 * slots);
        return Math.clamp((target + 7) & ~7, 16, 512);
    }
}
