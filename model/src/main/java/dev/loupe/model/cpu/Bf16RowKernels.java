package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.I;
import static dev.loupe.model.cpu.Vectors.I16;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/**
 * BF16 rows: a bf16 value is the top half of a float. The matrix-vector product loads rows as 32-bit pairs
 * and splits each pair with one shift (even element) and one mask (odd element), against an activation
 * reordered once per call into matching even/odd halves: fewer instructions per byte keeps more memory
 * reads in flight. Decoding for the blocked kernels widens 16-bit lanes to 32 and shifts instead. Vector
 * operations are written out in the loops rather than in helper methods: a helper that C2 declines to inline
 * (inlining budgets run out in eight-row loops) passes vectors as heap objects, a hundredfold slowdown.
 */
final class Bf16RowKernels implements RowKernels {
    static final Bf16RowKernels INSTANCE = new Bf16RowKernels();
    /** Values per paired load: two per 32-bit lane. */
    private static final int PAIRS = 2 * L;

    private Bf16RowKernels() {}

    static float scalar(MemorySegment w, long byteOffset) {
        return Float.intBitsToFloat(w.get(I16, byteOffset) << 16);
    }

    @Override
    public boolean reordersActivation() { return true; }

    /** Within each group of 2L values: the L even-indexed ones, then the L odd-indexed ones; a ragged end stays in order. */
    @Override
    public void reorder(float[] x, int xOff, int cols, float[] dst) {
        int vecEnd = cols - cols % PAIRS;
        for (int g = 0; g < vecEnd; g += PAIRS) {
            for (int j = 0; j < L; j++) {
                dst[g + j] = x[xOff + g + 2 * j];
                dst[g + L + j] = x[xOff + g + 2 * j + 1];
            }
        }
        System.arraycopy(x, xOff + vecEnd, dst, vecEnd, cols - vecEnd);
    }

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        float[] lanes = new float[Vectors.L];   // one per call: the fixed-order lane sums go through it, not a new array per row
        long rowBytes = 2L * cols;
        int vecEnd = cols - cols % PAIRS;
        int o = rowStart;
        // Eight rows per pass: eight independent streams of loads, each x load shared.
        for (; o + 8 <= rowEnd; o += 8) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes, b4 = b3 + rowBytes, b5 = b4 + rowBytes, b6 = b5 + rowBytes, b7 = b6 + rowBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int i = 0; i < vecEnd; i += PAIRS) {
                FloatVector xe = FloatVector.fromArray(F, x, xOff + i), xo = FloatVector.fromArray(F, x, xOff + i + L);
                long d = 2L * i;
                IntVector p0 = IntVector.fromMemorySegment(I, w, b0 + d, LE);
                s0 = p0.and(0xffff0000).reinterpretAsFloats().fma(xo, p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s0));
                IntVector p1 = IntVector.fromMemorySegment(I, w, b1 + d, LE);
                s1 = p1.and(0xffff0000).reinterpretAsFloats().fma(xo, p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s1));
                IntVector p2 = IntVector.fromMemorySegment(I, w, b2 + d, LE);
                s2 = p2.and(0xffff0000).reinterpretAsFloats().fma(xo, p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s2));
                IntVector p3 = IntVector.fromMemorySegment(I, w, b3 + d, LE);
                s3 = p3.and(0xffff0000).reinterpretAsFloats().fma(xo, p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s3));
                IntVector p4 = IntVector.fromMemorySegment(I, w, b4 + d, LE);
                s4 = p4.and(0xffff0000).reinterpretAsFloats().fma(xo, p4.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s4));
                IntVector p5 = IntVector.fromMemorySegment(I, w, b5 + d, LE);
                s5 = p5.and(0xffff0000).reinterpretAsFloats().fma(xo, p5.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s5));
                IntVector p6 = IntVector.fromMemorySegment(I, w, b6 + d, LE);
                s6 = p6.and(0xffff0000).reinterpretAsFloats().fma(xo, p6.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s6));
                IntVector p7 = IntVector.fromMemorySegment(I, w, b7 + d, LE);
                s7 = p7.and(0xffff0000).reinterpretAsFloats().fma(xo, p7.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s7));
            }
            float r0 = Vectors.sumLanes(s0, lanes), r1 = Vectors.sumLanes(s1, lanes), r2 = Vectors.sumLanes(s2, lanes), r3 = Vectors.sumLanes(s3, lanes), r4 = Vectors.sumLanes(s4, lanes), r5 = Vectors.sumLanes(s5, lanes), r6 = Vectors.sumLanes(s6, lanes), r7 = Vectors.sumLanes(s7, lanes);
            for (int i = vecEnd; i < cols; i++) {
                float xi = x[xOff + i];
                long d = 2L * i;
                r0 += xi * scalar(w, b0 + d);
                r1 += xi * scalar(w, b1 + d);
                r2 += xi * scalar(w, b2 + d);
                r3 += xi * scalar(w, b3 + d);
                r4 += xi * scalar(w, b4 + d);
                r5 += xi * scalar(w, b5 + d);
                r6 += xi * scalar(w, b6 + d);
                r7 += xi * scalar(w, b7 + d);
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
            for (int i = 0; i < vecEnd; i += PAIRS) {
                IntVector p = IntVector.fromMemorySegment(I, w, b + 2L * i, LE);
                FloatVector xe = FloatVector.fromArray(F, x, xOff + i), xo = FloatVector.fromArray(F, x, xOff + i + L);
                s = p.and(0xffff0000).reinterpretAsFloats().fma(xo, p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, s));
            }
            float r = Vectors.sumLanes(s, lanes);
            for (int i = vecEnd; i < cols; i++) r += x[xOff + i] * scalar(w, b + 2L * i);
            out[outOff + o] = r;
        }
    }

    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        long base = ((long) row * cols + col) * 2;
        int vecEnd = count - count % L;
        int j = 0;
        for (; j < vecEnd; j += L) {
            ((IntVector) ShortVector.fromMemorySegment(Vectors.S, w, base + 2L * j, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + j);
        }
        for (; j < count; j++) dst[dstOff + j] = scalar(w, base + 2L * j);
    }
}
