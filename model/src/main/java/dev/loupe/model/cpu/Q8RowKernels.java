package dev.loupe.model.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.B;
import static dev.loupe.model.cpu.Vectors.BYTE_PARTS;
import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.I16;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/**
 * Q8_0 rows: blocks of 34 bytes (fp16 scale d, 32 signed bytes q), value = d·q. The activations stay float;
 * with 16-lane vectors the matrix-vector product is fused (eight rows per pass, a block is two vectors), otherwise
 * it decodes rows into a small buffer first ({@link DecodedRows}).
 */
final class Q8RowKernels implements RowKernels {
    static final Q8RowKernels INSTANCE = new Q8RowKernels();
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;

    private Q8RowKernels() {}

    private static float scale(MemorySegment w, long block) { return Float.float16ToFloat(w.get(I16, block)); }

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        if (L == 16 && B.length() == 16) matVec16(w, cols, x, xOff, out, outOff, rowStart, rowEnd);
        else DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
    }

    /** The product for 16-lane vectors: two vectors per block, everything written out in the loop. */
    private static void matVec16(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd) {
        float[] lanes = new float[Vectors.L];   // one per call: the fixed-order lane sums go through it, not a new array per row
        int blocks = cols / BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        int o = rowStart;
        // Eight rows per pass: eight independent streams of loads, each x load shared.
        for (; o + 8 <= rowEnd; o += 8) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes, b4 = b3 + rowBytes, b5 = b4 + rowBytes, b6 = b5 + rowBytes, b7 = b6 + rowBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int k = 0; k < blocks; k++) {
                long d = (long) k * BLOCK_BYTES;
                FloatVector x0 = FloatVector.fromArray(F, x, xOff + k * BLOCK), x1 = FloatVector.fromArray(F, x, xOff + k * BLOCK + 16);
                s0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b0 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b0 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b0 + d))), s0);
                s1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b1 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b1 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b1 + d))), s1);
                s2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b2 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b2 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b2 + d))), s2);
                s3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b3 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b3 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b3 + d))), s3);
                s4 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b4 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b4 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b4 + d))), s4);
                s5 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b5 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b5 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b5 + d))), s5);
                s6 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b6 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b6 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b6 + d))), s6);
                s7 = ((FloatVector) ByteVector.fromMemorySegment(B, w, b7 + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b7 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b7 + d))), s7);
            }
            out[outOff + o] = Vectors.sumLanes(s0, lanes);
            out[outOff + o + 1] = Vectors.sumLanes(s1, lanes);
            out[outOff + o + 2] = Vectors.sumLanes(s2, lanes);
            out[outOff + o + 3] = Vectors.sumLanes(s3, lanes);
            out[outOff + o + 4] = Vectors.sumLanes(s4, lanes);
            out[outOff + o + 5] = Vectors.sumLanes(s5, lanes);
            out[outOff + o + 6] = Vectors.sumLanes(s6, lanes);
            out[outOff + o + 7] = Vectors.sumLanes(s7, lanes);
        }
        for (; o < rowEnd; o++) {
            long b = o * rowBytes;
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < blocks; k++) {
                long d = (long) k * BLOCK_BYTES;
                FloatVector x0 = FloatVector.fromArray(F, x, xOff + k * BLOCK), x1 = FloatVector.fromArray(F, x, xOff + k * BLOCK + 16);
                s = ((FloatVector) ByteVector.fromMemorySegment(B, w, b + d + 18, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1,
                        ((FloatVector) ByteVector.fromMemorySegment(B, w, b + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, b + d))), s);
            }
            out[outOff + o] = Vectors.sumLanes(s, lanes);
        }
    }

    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        long first = ((long) row * cols + col) / BLOCK * BLOCK_BYTES;
        for (int k = 0; k < count / BLOCK; k++) {
            long block = first + (long) k * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, scale(w, block));
            int o = dstOff + k * BLOCK;
            for (int j = 0; j < BLOCK; j += B.length()) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, block + 2 + j, LE);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(dst, o + j + p * L);
                }
            }
        }
    }
}
