package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.loupe.model.cpu.PromptMatMul.ceilDiv;
import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.F32;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/**
 * {@code out[r, o] = Σ_i x[r, i]·W[i, o]} with W stored {@code [inDim, outDim]}, for a few rows: bandwidth
 * bound, so W is streamed once. A work unit is a run of {@link #CHUNK} output columns, whose slice of out
 * stays in L1 while W's rows are added into it, scaled by x, several rows per pass. F32 rows are read
 * straight from the segment; other formats are decoded four rows at a time into a small per-thread buffer.
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
            for (int u = start; u < end; u++) {
                if (kernels == F32RowKernels.INSTANCE) chunkF32(w, inDim, outDim, x, xOff, rows, out, outOff, u * CHUNK);
                else chunk(kernels, w, inDim, outDim, x, xOff, rows, out, outOff, u * CHUNK, buf);
            }
        });
    }

    private static void chunkF32(MemorySegment w, int inDim, int outDim, float[] x, int xOff, int rows,
                                 float[] out, int outOff, int c0) {
        int width = Math.min(CHUNK, outDim - c0);
        int vecEnd = width - width % L;
        long rowBytes = 4L * outDim;
        for (int r = 0; r < rows; r++) Arrays.fill(out, outOff + r * outDim + c0, outOff + r * outDim + c0 + width, 0f);
        int i0 = 0;
        for (; i0 + 4 <= inDim; i0 += 4) {
            long w0 = (i0 * (long) outDim + c0) * 4, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
            for (int r = 0; r < rows; r++) {
                int xr = xOff + r * inDim + i0;
                float x0 = x[xr], x1 = x[xr + 1], x2 = x[xr + 2], x3 = x[xr + 3];
                FloatVector v0 = FloatVector.broadcast(F, x0), v1 = FloatVector.broadcast(F, x1);
                FloatVector v2 = FloatVector.broadcast(F, x2), v3 = FloatVector.broadcast(F, x3);
                int o = outOff + r * outDim + c0;
                int j = 0;
                for (; j < vecEnd; j += L) {
                    long d = 4L * j;
                    FloatVector acc = FloatVector.fromArray(F, out, o + j);
                    acc = FloatVector.fromMemorySegment(F, w, w0 + d, LE).fma(v0, acc);
                    acc = FloatVector.fromMemorySegment(F, w, w1 + d, LE).fma(v1, acc);
                    acc = FloatVector.fromMemorySegment(F, w, w2 + d, LE).fma(v2, acc);
                    acc = FloatVector.fromMemorySegment(F, w, w3 + d, LE).fma(v3, acc);
                    acc.intoArray(out, o + j);
                }
                for (; j < width; j++) {
                    long d = 4L * j;
                    out[o + j] += w.get(F32, w0 + d) * x0 + w.get(F32, w1 + d) * x1 + w.get(F32, w2 + d) * x2
                            + w.get(F32, w3 + d) * x3;
                }
            }
        }
        for (; i0 < inDim; i0++) {
            long w0 = (i0 * (long) outDim + c0) * 4;
            for (int r = 0; r < rows; r++) {
                float x0 = x[xOff + r * inDim + i0];
                int o = outOff + r * outDim + c0;
                for (int j = 0; j < width; j++) out[o + j] += w.get(F32, w0 + 4L * j) * x0;
            }
        }
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
