package dev.loupe.model.cpu;

import dev.loupe.model.tensor.KQuants;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.loupe.model.cpu.Vectors.B;
import static dev.loupe.model.cpu.Vectors.BYTE_PARTS;
import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/**
 * Q4_K rows: super-blocks of 256 values in 144 bytes (layout in {@link KQuants}), value = (d·scale)·q − dmin·min
 * per sub-block of 32. The matrix-vector product with 16-lane vectors is fused: each sub-block's dot product
 * Σq·x is scaled once, and the mins contribute dmin·min·Σx, where the sums of x per sub-block are computed once
 * per call and shared by every row. Four rows per pass share each x load; each row's eight sub-block scales are
 * unpacked to floats once per block by a scalar helper. Other vector widths decode rows into a small buffer first
 * ({@link DecodedRows}).
 */
final class Q4KRowKernels implements RowKernels {
    static final Q4KRowKernels INSTANCE = new Q4KRowKernels();
    static final int BLOCK_BYTES = 144;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final int SUB = KQuants.SUB;
    private static final int SCALES = KQuants.Q4K_SCALES, QS = KQuants.Q4K_QS;

    private Q4KRowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        if (L == 16 && B.length() == 16) matVec16(w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
        else DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
    }

    /** Floats of matVec scratch in front of the x sums: four rows' eight sub-block scales. */
    static final int SCALE_SCRATCH = 32;

    /**
     * Σx over each sub-block of 32 values, into {@code buf} from {@link #SCALE_SCRATCH} on when it is large enough
     * (it is for every real width: the scratch holds {@link DecodedRows#SCRATCH} floats).
     */
    static float[] subBlockSums(float[] x, int xOff, int cols, float[] buf) {
        int subs = cols / SUB;
        float[] sums = buf.length >= SCALE_SCRATCH + subs ? buf : new float[SCALE_SCRATCH + subs];
        for (int s = 0; s < subs; s++) {
            int at = xOff + s * SUB;
            sums[SCALE_SCRATCH + s] = FloatVector.fromArray(F, x, at).add(FloatVector.fromArray(F, x, at + 16)).reduceLanes(VectorOperators.ADD);
        }
        return sums;
    }

    /**
     * Unpacks the eight 6-bit scales and mins of the Q4_K/Q5_K block at {@code block}: writes d·scale_s to
     * {@code sc[off + s]} and returns Σ_s dmin·min_s·Σx_s, with the block's x sums at {@code sums[SCALE_SCRATCH + s0]}.
     * Scalar and separate, so that the vector loops stay small enough for both JIT tiers.
     */
    static float scales(MemorySegment w, long block, float[] sums, int s0, float[] sc, int off) {
        float d = KQuants.half(w, block), dmin = KQuants.half(w, block + 2);
        // All eight 6-bit scales (and mins) gathered into the bytes of one long with a few word-wide operations,
        // rather than eight two-byte extractions each: this runs once per row and block, beside only ~90 vector ops.
        long packed = w.get(LONG, block + KQuants.Q4K_SCALES);
        long high = w.get(INT, block + KQuants.Q4K_SCALES + 8) & 0xffffffffL;
        long scales = packed & 0x3f3f3f3fL | ((high & 0x0f0f0f0fL) | (packed >>> 2 & 0x30303030L)) << 32;
        long mins = packed >>> 32 & 0x3f3f3f3fL | ((high >>> 4 & 0x0f0f0f0fL) | (packed >>> 34 & 0x30303030L)) << 32;
        float m = 0;
        for (int s = 0; s < 8; s++) {
            sc[off + s] = d * (int) (scales >>> 8 * s & 0xff);
            m += (int) (mins >>> 8 * s & 0xff) * sums[SCALE_SCRATCH + s0 + s];
        }
        return dmin * m;
    }

    /** The product for 16-lane vectors: four rows per pass, a pair of sub-blocks (32 bytes, four x vectors) per step. */
    private static void matVec16(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart,
                                 int rowEnd, float[] buf) {
        int blocks = cols / KQuants.BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        float[] sums = Q4KRowKernels.subBlockSums(x, xOff, cols, buf);
        int o = rowStart;
        // Each pass is its own method, small enough for both JIT tiers: with both passes in one method, C1 gave
        // up on it, C2 had not compiled it by the end of the warmup, and it ran with boxed vectors (100× slower).
        for (; o + 4 <= rowEnd; o += 4) rows4(w, rowBytes, blocks, x, xOff, out, outOff, o, sums, sums);
        for (; o < rowEnd; o++) row1(w, rowBytes, blocks, x, xOff, out, outOff, o, sums, sums);
    }

    /** Rows o..o+3: each x load is shared by the four rows. */
    private static void rows4(MemorySegment w, long rowBytes, int blocks, float[] x, int xOff, float[] out, int outOff, int o,
                             float[] sums, float[] sc) {
        long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (int k = 0; k < blocks; k++) {
            long kb = (long) k * BLOCK_BYTES;
            long k0 = b0 + kb, k1 = b1 + kb, k2 = b2 + kb, k3 = b3 + kb;
            m0 += Q4KRowKernels.scales(w, k0, sums, 8 * k, sc, 0);
            m1 += Q4KRowKernels.scales(w, k1, sums, 8 * k, sc, 8);
            m2 += Q4KRowKernels.scales(w, k2, sums, 8 * k, sc, 16);
            m3 += Q4KRowKernels.scales(w, k3, sums, 8 * k, sc, 24);
            for (int j = 0; j < 4; j++) {
                int xo = xOff + k * KQuants.BLOCK + 64 * j;
                FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 16);
                FloatVector x2 = FloatVector.fromArray(F, x, xo + 32), x3 = FloatVector.fromArray(F, x, xo + 48);
                int q = QS + 32 * j;
                IntVector p, r;
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a0 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j]), a0);
                a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j + 1]), a0);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a1 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[8 + 2 * j]), a1);
                a1 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[8 + 2 * j + 1]), a1);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a2 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[16 + 2 * j]), a2);
                a2 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[16 + 2 * j + 1]), a2);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a3 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[24 + 2 * j]), a3);
                a3 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[24 + 2 * j + 1]), a3);
            }
        }
        out[outOff + o] = a0.reduceLanes(VectorOperators.ADD) - m0;
        out[outOff + o + 1] = a1.reduceLanes(VectorOperators.ADD) - m1;
        out[outOff + o + 2] = a2.reduceLanes(VectorOperators.ADD) - m2;
        out[outOff + o + 3] = a3.reduceLanes(VectorOperators.ADD) - m3;
    }

    /** Row o alone (the rows left over after the four-row passes). */
    private static void row1(MemorySegment w, long rowBytes, int blocks, float[] x, int xOff, float[] out, int outOff, int o,
                             float[] sums, float[] sc) {
        long b0 = o * rowBytes;
        FloatVector a0 = FloatVector.zero(F);
        float m0 = 0;
        for (int k = 0; k < blocks; k++) {
            long kb = (long) k * BLOCK_BYTES;
            long k0 = b0 + kb;
            m0 += Q4KRowKernels.scales(w, k0, sums, 8 * k, sc, 0);
            for (int j = 0; j < 4; j++) {
                int xo = xOff + k * KQuants.BLOCK + 64 * j;
                FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 16);
                FloatVector x2 = FloatVector.fromArray(F, x, xo + 32), x3 = FloatVector.fromArray(F, x, xo + 48);
                int q = QS + 32 * j;
                IntVector p, r;
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a0 = ((FloatVector) r.and(0xf).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j]), a0);
                a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j + 1]), a0);
            }
        }
        out[outOff + o] = a0.reduceLanes(VectorOperators.ADD) - m0;
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
