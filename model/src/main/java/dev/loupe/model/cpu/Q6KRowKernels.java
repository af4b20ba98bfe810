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
 * Q6_K rows: super-blocks of 256 values in 210 bytes (layout in {@link KQuants}), value = (d·scale)·(q − 32) per
 * sub-block of 16. With 16-lane vectors the product is fused: one step takes sixteen bytes of low nibbles from each
 * of the two 32-byte runs of a half-block and the sixteen bytes of high pairs they share, which make four vectors of
 * values, one per quarter of the half-block, each under a single scale. Four rows per pass share each x load; each
 * row's sixteen scales are turned into floats once per block by a scalar helper. Other vector widths decode rows
 * into a small buffer first ({@link DecodedRows}).
 */
final class Q6KRowKernels implements RowKernels {
    static final Q6KRowKernels INSTANCE = new Q6KRowKernels();
    static final int BLOCK_BYTES = 210;
    private static final int SUB = KQuants.SUB;

    private Q6KRowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        if (L == 16 && B.length() == 16) matVec16(w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
        else DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
    }

    /** Writes d·scale_s of the block at {@code block} to {@code sc[off + s]}, s < 16. */
    static void scales(MemorySegment w, long block, float[] sc, int off) {
        float d = KQuants.half(w, block + KQuants.Q6K_D);
        for (int s = 0; s < 16; s++) sc[off + s] = d * KQuants.q6Scale(w, block, s);
    }

    /**
     * The product for 16-lane vectors. Step (half, c) covers lanes 16c..16c+15 of a half-block: low nibbles at bytes
     * 64·half + 16c (quarters 0 and 2) and 64·half + 32 + 16c (quarters 1 and 3), high pairs at 128 + 32·half + 16c,
     * scale 8·half + 2t + c for quarter t. {@code buf} holds four rows' scales.
     */
    private static void matVec16(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart,
                                 int rowEnd, float[] buf) {
        int blocks = cols / KQuants.BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        int o = rowStart;
        // Each pass is its own method, small enough for both JIT tiers: with both passes in one method, C1 gave
        // up on it, C2 had not compiled it by the end of the warmup, and it ran with boxed vectors (100× slower).
        for (; o + 4 <= rowEnd; o += 4) rows4(w, rowBytes, blocks, x, xOff, out, outOff, o, buf);
        for (; o < rowEnd; o++) row1(w, rowBytes, blocks, x, xOff, out, outOff, o, buf);
    }

    /** Rows o..o+3: each x load is shared by the four rows. */
    private static void rows4(MemorySegment w, long rowBytes, int blocks, float[] x, int xOff, float[] out, int outOff, int o,
                             float[] sc) {
        long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            long kb = (long) k * BLOCK_BYTES;
            long k0 = b0 + kb, k1 = b1 + kb, k2 = b2 + kb, k3 = b3 + kb;
            scales(w, k0, sc, 0);
            scales(w, k1, sc, 16);
            scales(w, k2, sc, 32);
            scales(w, k3, sc, 48);
            for (int step = 0; step < 4; step++) {
                int half = step >> 1, c = step & 1;
                int xo = xOff + k * KQuants.BLOCK + 128 * half + 16 * c;
                FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 32);
                FloatVector x2 = FloatVector.fromArray(F, x, xo + 64), x3 = FloatVector.fromArray(F, x, xo + 96);
                int ql = 64 * half + 16 * c, qh = KQuants.Q6K_QH + 32 * half + 16 * c, s = 8 * half + c;
                IntVector p, r, h;
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                h = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a0 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                        .fma(FloatVector.broadcast(F, sc[0 + s]), a0);
                a0 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                        .fma(FloatVector.broadcast(F, sc[0 + s + 2]), a0);
                a0 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                        .fma(FloatVector.broadcast(F, sc[0 + s + 4]), a0);
                a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                        .fma(FloatVector.broadcast(F, sc[0 + s + 6]), a0);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                h = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a1 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                        .fma(FloatVector.broadcast(F, sc[16 + s]), a1);
                a1 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                        .fma(FloatVector.broadcast(F, sc[16 + s + 2]), a1);
                a1 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                        .fma(FloatVector.broadcast(F, sc[16 + s + 4]), a1);
                a1 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                        .fma(FloatVector.broadcast(F, sc[16 + s + 6]), a1);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                h = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a2 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                        .fma(FloatVector.broadcast(F, sc[32 + s]), a2);
                a2 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                        .fma(FloatVector.broadcast(F, sc[32 + s + 2]), a2);
                a2 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                        .fma(FloatVector.broadcast(F, sc[32 + s + 4]), a2);
                a2 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                        .fma(FloatVector.broadcast(F, sc[32 + s + 6]), a2);
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                h = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a3 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                        .fma(FloatVector.broadcast(F, sc[48 + s]), a3);
                a3 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                        .fma(FloatVector.broadcast(F, sc[48 + s + 2]), a3);
                a3 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                        .fma(FloatVector.broadcast(F, sc[48 + s + 4]), a3);
                a3 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                        .fma(FloatVector.broadcast(F, sc[48 + s + 6]), a3);
            }
        }
        out[outOff + o] = a0.reduceLanes(VectorOperators.ADD);
        out[outOff + o + 1] = a1.reduceLanes(VectorOperators.ADD);
        out[outOff + o + 2] = a2.reduceLanes(VectorOperators.ADD);
        out[outOff + o + 3] = a3.reduceLanes(VectorOperators.ADD);
    }

    /** Row o alone (the rows left over after the four-row passes). */
    private static void row1(MemorySegment w, long rowBytes, int blocks, float[] x, int xOff, float[] out, int outOff, int o,
                             float[] sc) {
        long b0 = o * rowBytes;
        FloatVector a0 = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long kb = (long) k * BLOCK_BYTES;
            long k0 = b0 + kb;
            scales(w, k0, sc, 0);
            for (int step = 0; step < 4; step++) {
                int half = step >> 1, c = step & 1;
                int xo = xOff + k * KQuants.BLOCK + 128 * half + 16 * c;
                FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 32);
                FloatVector x2 = FloatVector.fromArray(F, x, xo + 64), x3 = FloatVector.fromArray(F, x, xo + 96);
                int ql = 64 * half + 16 * c, qh = KQuants.Q6K_QH + 32 * half + 16 * c, s = 8 * half + c;
                IntVector p, r, h;
                p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                h = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                a0 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                        .fma(FloatVector.broadcast(F, sc[0 + s]), a0);
                a0 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                        .fma(FloatVector.broadcast(F, sc[0 + s + 2]), a0);
                a0 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                        .fma(FloatVector.broadcast(F, sc[0 + s + 4]), a0);
                a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                        .fma(FloatVector.broadcast(F, sc[0 + s + 6]), a0);
            }
        }
        out[outOff + o] = a0.reduceLanes(VectorOperators.ADD);
    }

    /** Decodes with the same roundings as {@link KQuants}: (d·scale)·(q − 32). */
    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        long first = (long) row * cols + col;
        for (int s0 = 0; s0 < count; s0 += SUB) {
            long v = first + s0;
            long block = v / KQuants.BLOCK * BLOCK_BYTES;
            int u = (int) (v % KQuants.BLOCK) / SUB;           // 32-value unit: half u / 4, quarter u % 4
            int half = u / 4, t = u % 4;
            float d = KQuants.half(w, block + KQuants.Q6K_D);
            long ql = block + 64 * half + 32 * (t % 2), qh = block + KQuants.Q6K_QH + 32 * half;
            int lowShift = 4 * (t / 2), highShift = 2 * t;
            for (int j = 0; j < SUB; j += B.length()) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, ql + j, LE);
                ByteVector hb = ByteVector.fromMemorySegment(B, w, qh + j, LE);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    int at = j + p * L;
                    FloatVector scale = FloatVector.broadcast(F, d * KQuants.q6Scale(w, block, 2 * u + at / 16));
                    IntVector low = (IntVector) q.convertShape(VectorOperators.B2I, Vectors.I, p);
                    IntVector high = (IntVector) hb.convertShape(VectorOperators.B2I, Vectors.I, p);
                    ((FloatVector) low.lanewise(VectorOperators.ASHR, lowShift).and(0xf)
                            .or(high.lanewise(VectorOperators.ASHR, highShift).and(3).lanewise(VectorOperators.LSHL, 4))
                            .sub(32).convert(VectorOperators.I2F, 0)).mul(scale).intoArray(dst, dstOff + s0 + at);
                }
            }
        }
    }
}
