package dev.loupe.model.cpu;

import dev.loupe.model.tensor.KQuants;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.B;
import static dev.loupe.model.cpu.Vectors.BYTE_PARTS;
import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/**
 * Q4_K rows: super-blocks of 256 values in 144 bytes (layout in {@link KQuants}), value = (d·scale)·q − dmin·min
 * per sub-block of 32. The matrix-vector product with 16-lane vectors is fused: each sub-block's dot product
 * Σq·x is scaled once, and the mins contribute dmin·min·Σx, where the sums of x per sub-block are computed once
 * per call and shared by every row. Four rows per pass share each x load. Other vector widths decode rows into a
 * small buffer first ({@link DecodedRows}).
 */
final class Q4KRowKernels implements RowKernels {
    static final Q4KRowKernels INSTANCE = new Q4KRowKernels();
    static final int BLOCK_BYTES = 144;
    private static final int SUB = KQuants.SUB;
    private static final int SCALES = KQuants.Q4K_SCALES, QS = KQuants.Q4K_QS;

    private Q4KRowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        if (L == 16 && B.length() == 16) matVec16(w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
        else DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
    }

    /**
     * Σx over each sub-block of 32 values, into {@code buf} when it is large enough (it is for every real width:
     * the scratch holds {@link DecodedRows#SCRATCH} floats, 131072 columns' worth).
     */
    static float[] subBlockSums(float[] x, int xOff, int cols, float[] buf) {
        int subs = cols / SUB;
        float[] sums = buf.length >= subs ? buf : new float[subs];
        for (int s = 0; s < subs; s++) {
            int at = xOff + s * SUB;
            sums[s] = FloatVector.fromArray(F, x, at).add(FloatVector.fromArray(F, x, at + 16)).reduceLanes(VectorOperators.ADD);
        }
        return sums;
    }

    /** Σ_s dmin·min_s·Σx_s over the eight sub-blocks of the block at {@code block}, whose x sums start at {@code sums[s0]}. */
    static float minTerm(MemorySegment w, long block, float[] sums, int s0) {
        long sc = block + SCALES;
        float m = 0;
        for (int s = 0; s < 8; s++) m += KQuants.min(w, sc, s) * sums[s0 + s];
        return KQuants.half(w, block + 2) * m;
    }

    /** The product for 16-lane vectors: four rows per pass, a pair of sub-blocks (32 bytes, four x vectors) per step. */
    private static void matVec16(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart,
                                 int rowEnd, float[] buf) {
        int blocks = cols / KQuants.BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        float[] sums = subBlockSums(x, xOff, cols, buf);
        int o = rowStart;
        for (; o + 4 <= rowEnd; o += 4) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
            for (int k = 0; k < blocks; k++) {
                long kb = (long) k * BLOCK_BYTES;
                long k0 = b0 + kb, k1 = b1 + kb, k2 = b2 + kb, k3 = b3 + kb;
                float d0 = KQuants.half(w, k0), d1 = KQuants.half(w, k1), d2 = KQuants.half(w, k2), d3 = KQuants.half(w, k3);
                for (int j = 0; j < 4; j++) {
                    int xo = xOff + k * KQuants.BLOCK + 64 * j;
                    FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 16);
                    FloatVector x2 = FloatVector.fromArray(F, x, xo + 32), x3 = FloatVector.fromArray(F, x, xo + 48);
                    int q = QS + 32 * j, lo = 2 * j, hi = lo + 1;
                    IntVector p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    IntVector r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a0 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1, ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                            .fma(FloatVector.broadcast(F, d0 * KQuants.scale(w, k0 + SCALES, lo)), a0);
                    a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                            ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                            .fma(FloatVector.broadcast(F, d0 * KQuants.scale(w, k0 + SCALES, hi)), a0);
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a1 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1, ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                            .fma(FloatVector.broadcast(F, d1 * KQuants.scale(w, k1 + SCALES, lo)), a1);
                    a1 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                            ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                            .fma(FloatVector.broadcast(F, d1 * KQuants.scale(w, k1 + SCALES, hi)), a1);
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a2 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1, ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                            .fma(FloatVector.broadcast(F, d2 * KQuants.scale(w, k2 + SCALES, lo)), a2);
                    a2 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                            ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                            .fma(FloatVector.broadcast(F, d2 * KQuants.scale(w, k2 + SCALES, hi)), a2);
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a3 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1, ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                            .fma(FloatVector.broadcast(F, d3 * KQuants.scale(w, k3 + SCALES, lo)), a3);
                    a3 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                            ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                            .fma(FloatVector.broadcast(F, d3 * KQuants.scale(w, k3 + SCALES, hi)), a3);
                }
                m0 += minTerm(w, k0, sums, 8 * k);
                m1 += minTerm(w, k1, sums, 8 * k);
                m2 += minTerm(w, k2, sums, 8 * k);
                m3 += minTerm(w, k3, sums, 8 * k);
            }
            out[outOff + o] = a0.reduceLanes(VectorOperators.ADD) - m0;
            out[outOff + o + 1] = a1.reduceLanes(VectorOperators.ADD) - m1;
            out[outOff + o + 2] = a2.reduceLanes(VectorOperators.ADD) - m2;
            out[outOff + o + 3] = a3.reduceLanes(VectorOperators.ADD) - m3;
        }
        for (; o < rowEnd; o++) {
            long b = o * rowBytes;
            FloatVector a = FloatVector.zero(F);
            float m = 0;
            for (int k = 0; k < blocks; k++) {
                long kb = b + (long) k * BLOCK_BYTES;
                float d = KQuants.half(w, kb);
                for (int j = 0; j < 4; j++) {
                    int xo = xOff + k * KQuants.BLOCK + 64 * j;
                    FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 16);
                    FloatVector x2 = FloatVector.fromArray(F, x, xo + 32), x3 = FloatVector.fromArray(F, x, xo + 48);
                    int q = QS + 32 * j;
                    IntVector p = (IntVector) ByteVector.fromMemorySegment(B, w, kb + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    IntVector r = (IntVector) ByteVector.fromMemorySegment(B, w, kb + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1, ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                            .fma(FloatVector.broadcast(F, d * KQuants.scale(w, kb + SCALES, 2 * j)), a);
                    a = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                            ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                            .fma(FloatVector.broadcast(F, d * KQuants.scale(w, kb + SCALES, 2 * j + 1)), a);
                }
                m += minTerm(w, kb, sums, 8 * k);
            }
            out[outOff + o] = a.reduceLanes(VectorOperators.ADD) - m;
        }
    }

    /** Decodes with the same roundings as {@link KQuants}: (d·scale)·q, then − dmin·min. */
    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        long first = (long) row * cols + col;
        for (int s0 = 0; s0 < count; s0 += SUB) {
            long v = first + s0;
            long block = v / KQuants.BLOCK * BLOCK_BYTES;
            int s = (int) (v % KQuants.BLOCK) / SUB;
            FloatVector d = FloatVector.broadcast(F, KQuants.half(w, block) * KQuants.scale(w, block + SCALES, s));
            FloatVector m = FloatVector.broadcast(F, KQuants.half(w, block + 2) * KQuants.min(w, block + SCALES, s));
            int shift = 4 * (s % 2);
            long qs = block + QS + 32 * (s / 2);
            for (int j = 0; j < SUB; j += B.length()) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, qs + j, LE);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    IntVector packed = (IntVector) q.convertShape(VectorOperators.B2I, Vectors.I, p);
                    ((FloatVector) packed.lanewise(VectorOperators.ASHR, shift).and(0xf).convert(VectorOperators.I2F, 0))
                            .mul(d).sub(m).intoArray(dst, dstOff + s0 + j + p * L);
                }
            }
        }
    }
}
