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
 * Q8_0 rows: blocks of 34 bytes (fp16 scale d, 32 signed bytes q), value = d·q. The activations stay float:
 * each block's Σ q·x is formed in float and scaled once per block.
 */
final class Q8RowKernels implements RowKernels {
    static final Q8RowKernels INSTANCE = new Q8RowKernels();
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;

    private Q8RowKernels() {}

    /** Lane-wise partial sums of {@code q·x} over one block whose quants start at {@code quants}. */
    private static FloatVector blockDot(MemorySegment w, long quants, float[] x, int xOff) {
        FloatVector s = FloatVector.zero(F);
        for (int j = 0; j < BLOCK; j += B.length()) {
            ByteVector q = ByteVector.fromMemorySegment(B, w, quants + j, LE);
            for (int p = 0; p < BYTE_PARTS; p++) {
                FloatVector qf = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
                s = qf.fma(FloatVector.fromArray(F, x, xOff + j + p * L), s);
            }
        }
        return s;
    }

    private static float scale(MemorySegment w, long block) { return Float.float16ToFloat(w.get(I16, block)); }

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd) {
        int blocks = cols / BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        int o = rowStart;
        for (; o + 4 <= rowEnd; o += 4) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int k = 0; k < blocks; k++) {
                long d = (long) k * BLOCK_BYTES;
                int xk = xOff + k * BLOCK;
                s0 = blockDot(w, b0 + d + 2, x, xk).fma(FloatVector.broadcast(F, scale(w, b0 + d)), s0);
                s1 = blockDot(w, b1 + d + 2, x, xk).fma(FloatVector.broadcast(F, scale(w, b1 + d)), s1);
                s2 = blockDot(w, b2 + d + 2, x, xk).fma(FloatVector.broadcast(F, scale(w, b2 + d)), s2);
                s3 = blockDot(w, b3 + d + 2, x, xk).fma(FloatVector.broadcast(F, scale(w, b3 + d)), s3);
            }
            out[outOff + o] = s0.reduceLanes(VectorOperators.ADD);
            out[outOff + o + 1] = s1.reduceLanes(VectorOperators.ADD);
            out[outOff + o + 2] = s2.reduceLanes(VectorOperators.ADD);
            out[outOff + o + 3] = s3.reduceLanes(VectorOperators.ADD);
        }
        for (; o < rowEnd; o++) {
            long b = o * rowBytes;
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < blocks; k++) {
                long d = b + (long) k * BLOCK_BYTES;
                s = blockDot(w, d + 2, x, xOff + k * BLOCK).fma(FloatVector.broadcast(F, scale(w, d)), s);
            }
            out[outOff + o] = s.reduceLanes(VectorOperators.ADD);
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
