package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.L;

/**
 * The matrix-vector product for formats whose decoding is too long to write out in an eight-row loop
 * (F16, Q8_0, Q4_0): eight rows at a time, each run of {@link #CHUNK} columns of the eight rows is decoded
 * into a buffer that stays in L1 and then multiplied with x. No vector crosses a method boundary or stays
 * live across a call, so nothing depends on C2's inlining decisions.
 */
final class DecodedRows {
    /** Columns decoded per row at a time; a multiple of the quantization block. */
    static final int CHUNK = 512;
    /** Rows per pass. */
    static final int ROWS = 8;
    /** Floats of scratch {@link #matVec} needs. */
    static final int SCRATCH = ROWS * CHUNK;

    private DecodedRows() {}

    static void matVec(RowKernels kernels, MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff,
                       int rowStart, int rowEnd, float[] buf) {
        float[] lanes = new float[Vectors.L];   // one per call: the fixed-order lane sums go through it, not a new array per row
        int o = rowStart;
        for (; o + ROWS <= rowEnd; o += ROWS) {
            float r0 = 0, r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0, r6 = 0, r7 = 0;
            for (int c0 = 0; c0 < cols; c0 += CHUNK) {
                int width = Math.min(CHUNK, cols - c0);
                kernels.decode(w, cols, o + 0, c0, width, buf, 0 * CHUNK);
                kernels.decode(w, cols, o + 1, c0, width, buf, 1 * CHUNK);
                kernels.decode(w, cols, o + 2, c0, width, buf, 2 * CHUNK);
                kernels.decode(w, cols, o + 3, c0, width, buf, 3 * CHUNK);
                kernels.decode(w, cols, o + 4, c0, width, buf, 4 * CHUNK);
                kernels.decode(w, cols, o + 5, c0, width, buf, 5 * CHUNK);
                kernels.decode(w, cols, o + 6, c0, width, buf, 6 * CHUNK);
                kernels.decode(w, cols, o + 7, c0, width, buf, 7 * CHUNK);
                int vecEnd = width - width % L;
                int j = 0;
                FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
                for (; j < vecEnd; j += L) {
                    FloatVector xv = FloatVector.fromArray(F, x, xOff + c0 + j);
                    s0 = FloatVector.fromArray(F, buf, 0 * CHUNK + j).fma(xv, s0);
                    s1 = FloatVector.fromArray(F, buf, 1 * CHUNK + j).fma(xv, s1);
                    s2 = FloatVector.fromArray(F, buf, 2 * CHUNK + j).fma(xv, s2);
                    s3 = FloatVector.fromArray(F, buf, 3 * CHUNK + j).fma(xv, s3);
                    s4 = FloatVector.fromArray(F, buf, 4 * CHUNK + j).fma(xv, s4);
                    s5 = FloatVector.fromArray(F, buf, 5 * CHUNK + j).fma(xv, s5);
                    s6 = FloatVector.fromArray(F, buf, 6 * CHUNK + j).fma(xv, s6);
                    s7 = FloatVector.fromArray(F, buf, 7 * CHUNK + j).fma(xv, s7);
                }
                for (; j < width; j++) {
                    float xi = x[xOff + c0 + j];
                    r0 += xi * buf[0 * CHUNK + j];
                    r1 += xi * buf[1 * CHUNK + j];
                    r2 += xi * buf[2 * CHUNK + j];
                    r3 += xi * buf[3 * CHUNK + j];
                    r4 += xi * buf[4 * CHUNK + j];
                    r5 += xi * buf[5 * CHUNK + j];
                    r6 += xi * buf[6 * CHUNK + j];
                    r7 += xi * buf[7 * CHUNK + j];
                }
                r0 += Vectors.sumLanes(s0, lanes);
                r1 += Vectors.sumLanes(s1, lanes);
                r2 += Vectors.sumLanes(s2, lanes);
                r3 += Vectors.sumLanes(s3, lanes);
                r4 += Vectors.sumLanes(s4, lanes);
                r5 += Vectors.sumLanes(s5, lanes);
                r6 += Vectors.sumLanes(s6, lanes);
                r7 += Vectors.sumLanes(s7, lanes);
            }
            out[outOff + o] = r0;
            out[outOff + o + 1] = r1;
            out[outOff + o + 2] = r2;
            out[outOff + o + 3] = r3;
            out[outOff + o + 4] = r4;
            out[outOff + o + 5] = r5;
            out[outOff + o + 6] = r6;
            out[outOff + o + 7] = r7;
        }
        for (; o < rowEnd; o++) {
            float r = 0;
            for (int c0 = 0; c0 < cols; c0 += CHUNK) {
                int width = Math.min(CHUNK, cols - c0);
                kernels.decode(w, cols, o, c0, width, buf, 0);
                int vecEnd = width - width % L;
                int j = 0;
                FloatVector s = FloatVector.zero(F);
                for (; j < vecEnd; j += L) s = FloatVector.fromArray(F, buf, j).fma(FloatVector.fromArray(F, x, xOff + c0 + j), s);
                for (; j < width; j++) r += x[xOff + c0 + j] * buf[j];
                r += Vectors.sumLanes(s, lanes);
            }
            out[outOff + o] = r;
        }
    }
}
