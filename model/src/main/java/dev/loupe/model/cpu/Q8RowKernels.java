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
 * the matrix-vector product decodes rows into a small buffer first ({@link DecodedRows}).
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
        DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
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
