package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.F32;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/** F32 rows, read directly from the segment. */
final class F32RowKernels implements RowKernels {
    static final F32RowKernels INSTANCE = new F32RowKernels();

    private F32RowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        float[] lanes = new float[Vectors.L];   // one per call: the fixed-order lane sums go through it, not a new array per row
        long rowBytes = 4L * cols;
        int vecEnd = cols - cols % L;
        int o = rowStart;
        // Eight rows per pass: eight independent streams of loads, each x load shared.
        for (; o + 8 <= rowEnd; o += 8) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes, b4 = b3 + rowBytes, b5 = b4 + rowBytes, b6 = b5 + rowBytes, b7 = b6 + rowBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int i = 0; i < vecEnd; i += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
                long d = 4L * i;
                s0 = FloatVector.fromMemorySegment(F, w, b0 + d, LE).fma(xv, s0);
                s1 = FloatVector.fromMemorySegment(F, w, b1 + d, LE).fma(xv, s1);
                s2 = FloatVector.fromMemorySegment(F, w, b2 + d, LE).fma(xv, s2);
                s3 = FloatVector.fromMemorySegment(F, w, b3 + d, LE).fma(xv, s3);
                s4 = FloatVector.fromMemorySegment(F, w, b4 + d, LE).fma(xv, s4);
                s5 = FloatVector.fromMemorySegment(F, w, b5 + d, LE).fma(xv, s5);
                s6 = FloatVector.fromMemorySegment(F, w, b6 + d, LE).fma(xv, s6);
                s7 = FloatVector.fromMemorySegment(F, w, b7 + d, LE).fma(xv, s7);
            }
            float r0 = Vectors.sumLanes(s0, lanes), r1 = Vectors.sumLanes(s1, lanes), r2 = Vectors.sumLanes(s2, lanes), r3 = Vectors.sumLanes(s3, lanes), r4 = Vectors.sumLanes(s4, lanes), r5 = Vectors.sumLanes(s5, lanes), r6 = Vectors.sumLanes(s6, lanes), r7 = Vectors.sumLanes(s7, lanes);
            for (int i = vecEnd; i < cols; i++) {
                float xi = x[xOff + i];
                long d = 4L * i;
                r0 += xi * w.get(F32, b0 + d);
                r1 += xi * w.get(F32, b1 + d);
                r2 += xi * w.get(F32, b2 + d);
                r3 += xi * w.get(F32, b3 + d);
                r4 += xi * w.get(F32, b4 + d);
                r5 += xi * w.get(F32, b5 + d);
                r6 += xi * w.get(F32, b6 + d);
                r7 += xi * w.get(F32, b7 + d);
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
            long b = o * rowBytes;
            FloatVector s = FloatVector.zero(F);
            for (int i = 0; i < vecEnd; i += L) {
                s = FloatVector.fromMemorySegment(F, w, b + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), s);
            }
            float r = Vectors.sumLanes(s, lanes);
            for (int i = vecEnd; i < cols; i++) r += x[xOff + i] * w.get(F32, b + 4L * i);
            out[outOff + o] = r;
        }
    }

    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        MemorySegment.copy(w, F32, ((long) row * cols + col) * 4, dst, dstOff, count);
    }
}
