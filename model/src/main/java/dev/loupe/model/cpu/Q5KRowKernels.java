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
 * Q5_K rows: super-blocks of 256 values in 176 bytes (layout in {@link KQuants}): Q4_K's scales and nibbles plus
 * one fifth bit per value, value = (d·scale)·q − dmin·min per sub-block of 32. The fused 16-lane product works as
 * {@link Q4KRowKernels}'s does; the 32 bytes of fifth bits are loaded once per block and row as two int vectors,
 * whose lowest two bits belong to the current pair of sub-blocks and which shift right by two per pair.
 */
final class Q5KRowKernels implements RowKernels {
    static final Q5KRowKernels INSTANCE = new Q5KRowKernels();
    static final int BLOCK_BYTES = 176;
    private static final int SUB = KQuants.SUB;
    private static final int SCALES = KQuants.Q4K_SCALES, QH = KQuants.Q5K_QH, QS = KQuants.Q5K_QS;

    private Q5KRowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        if (L == 16 && B.length() == 16) matVec16(w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
        else DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
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
            IntVector h0a = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + QH, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h0b = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + QH + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h1a = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + QH, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h1b = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + QH + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h2a = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + QH, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h2b = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + QH + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h3a = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + QH, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h3b = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + QH + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            for (int j = 0; j < 4; j++) {
                int xo = xOff + k * KQuants.BLOCK + 64 * j;
                FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 16);
                FloatVector x2 = FloatVector.fromArray(F, x, xo + 32), x3 = FloatVector.fromArray(F, x, xo + 48);
                int q = QS + 32 * j;
                IntVector p, r;
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a0 = ((FloatVector) r.and(0xf).or(h0b.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).or(h0a.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j]), a0);
                a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h0b.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h0a.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j + 1]), a0);
                h0a = h0a.lanewise(VectorOperators.ASHR, 2);
                h0b = h0b.lanewise(VectorOperators.ASHR, 2);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a1 = ((FloatVector) r.and(0xf).or(h1b.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).or(h1a.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[8 + 2 * j]), a1);
                a1 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h1b.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h1a.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[8 + 2 * j + 1]), a1);
                h1a = h1a.lanewise(VectorOperators.ASHR, 2);
                h1b = h1b.lanewise(VectorOperators.ASHR, 2);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a2 = ((FloatVector) r.and(0xf).or(h2b.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).or(h2a.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[16 + 2 * j]), a2);
                a2 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h2b.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h2a.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[16 + 2 * j + 1]), a2);
                h2a = h2a.lanewise(VectorOperators.ASHR, 2);
                h2b = h2b.lanewise(VectorOperators.ASHR, 2);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a3 = ((FloatVector) r.and(0xf).or(h3b.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).or(h3a.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[24 + 2 * j]), a3);
                a3 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h3b.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h3a.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[24 + 2 * j + 1]), a3);
                h3a = h3a.lanewise(VectorOperators.ASHR, 2);
                h3b = h3b.lanewise(VectorOperators.ASHR, 2);
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
            IntVector h0a = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + QH, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            IntVector h0b = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + QH + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
            for (int j = 0; j < 4; j++) {
                int xo = xOff + k * KQuants.BLOCK + 64 * j;
                FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 16);
                FloatVector x2 = FloatVector.fromArray(F, x, xo + 32), x3 = FloatVector.fromArray(F, x, xo + 48);
                int q = QS + 32 * j;
                IntVector p, r;
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + q + 16, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a0 = ((FloatVector) r.and(0xf).or(h0b.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).fma(x1,
                        ((FloatVector) p.and(0xf).or(h0a.and(1).lanewise(VectorOperators.LSHL, 4)).convert(VectorOperators.I2F, 0)).mul(x0))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j]), a0);
                a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h0b.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).fma(x3,
                        ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h0a.and(2).lanewise(VectorOperators.LSHL, 3)).convert(VectorOperators.I2F, 0)).mul(x2))
                        .fma(FloatVector.broadcast(F, sc[0 + 2 * j + 1]), a0);
                h0a = h0a.lanewise(VectorOperators.ASHR, 2);
                h0b = h0b.lanewise(VectorOperators.ASHR, 2);
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
                ByteVector h = ByteVector.fromMemorySegment(B, w, block + QH + j, LE);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    IntVector packed = (IntVector) q.convertShape(VectorOperators.B2I, Vectors.I, p);
                    IntVector high = (IntVector) h.convertShape(VectorOperators.B2I, Vectors.I, p);
                    ((FloatVector) packed.lanewise(VectorOperators.ASHR, shift).and(0xf)
                            .or(high.lanewise(VectorOperators.ASHR, s).and(1).lanewise(VectorOperators.LSHL, 4))
                            .convert(VectorOperators.I2F, 0)).mul(d).sub(m).intoArray(dst, dstOff + s0 + j + p * L);
                }
            }
        }
    }
}
