package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.loupe.model.cpu.PromptMatMul.ceilDiv;
import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.L;

/**
 * {@code out[r, o] = Σ_i x[r, i]·W[i, o]} with W stored {@code [inDim, outDim]}, for a few rows: bandwidth
 * bound, so W is streamed once. A work unit is a run of {@link #CHUNK} output columns; four W rows at a
 * time are decoded into a small per-thread buffer and added, scaled by x, into the output chunk, which stays
 * in L1.
 */
final class KnMatVec {
    /** Output columns per work unit; a multiple of the quantization block. */
    static final int CHUNK = 512;
    /** W rows combined per pass over the output chunk. */
    private static final int DEPTH = 4;

    private KnMatVec() {}

    static void run(Parallel par, Scratch scratch, RowKernels kernels, MemorySegment w, int inDim, int outDim,
                    float[] x, int xOff, int rows, float[] out, int outOff) {
        par.run(ceilDiv(outDim, CHUNK), 1, (start, end, slot) -> {
            float[] buf = scratch.slot(slot, Scratch.WEIGHTS, DEPTH * CHUNK);
            for (int u = start; u < end; u++) chunk(kernels, w, inDim, outDim, x, xOff, rows, out, outOff, u * CHUNK, buf);
        });
    }

    private static void chunk(RowKernels kernels, MemorySegment w, int inDim, int outDim, float[] x, int xOff,
                              int rows, float[] out, int outOff, int c0, float[] buf) {
        int width = Math.min(CHUNK, outDim - c0);
        int vecEnd = width - width % L;
        for (int r = 0; r < rows; r++) Arrays.fill(out, outOff + r * outDim + c0, outOff + r * outDim + c0 + width, 0f);
        for (int i0 = 0; i0 < inDim; i0 += DEPTH) {
            int depth = Math.min(DEPTH, inDim - i0);
            for (int q = 0; q < depth; q++) kernels.decode(w, outDim, i0 + q, c0, width, buf, q * CHUNK);
            for (int q = depth; q < DEPTH; q++) Arrays.fill(buf, q * CHUNK, q * CHUNK + width, 0f);
            for (int r = 0; r < rows; r++) {
                int xr = xOff + r * inDim + i0;
                float x0 = x[xr];
                float x1 = depth > 1 ? x[xr + 1] : 0f, x2 = depth > 2 ? x[xr + 2] : 0f, x3 = depth > 3 ? x[xr + 3] : 0f;
                FloatVector v0 = FloatVector.broadcast(F, x0), v1 = FloatVector.broadcast(F, x1);
                FloatVector v2 = FloatVector.broadcast(F, x2), v3 = FloatVector.broadcast(F, x3);
                int o = outOff + r * outDim + c0;
                int j = 0;
                for (; j < vecEnd; j += L) {
                    FloatVector acc = FloatVector.fromArray(F, out, o + j);
                    acc = FloatVector.fromArray(F, buf, j).fma(v0, acc);
                    acc = FloatVector.fromArray(F, buf, CHUNK + j).fma(v1, acc);
                    acc = FloatVector.fromArray(F, buf, 2 * CHUNK + j).fma(v2, acc);
                    acc = FloatVector.fromArray(F, buf, 3 * CHUNK + j).fma(v3, acc);
                    acc.intoArray(out, o + j);
                }
                for (; j < width; j++) {
                    out[o + j] += buf[j] * x0 + buf[CHUNK + j] * x1 + buf[2 * CHUNK + j] * x2 + buf[3 * CHUNK + j] * x3;
                }
            }
        }
    }
}
