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
 * values, one per quarter of the half-block, each under a single scale. Four rows per pass share each x load. Other
 * vector widths decode rows into a small buffer first ({@link DecodedRows}).
 */
final class Q6KRowKernels implements RowKernels {
    static final Q6KRowKernels INSTANCE = new Q6KRowKernels();
    static final int BLOCK_BYTES = 210;
    private static final int SUB = KQuants.SUB;

    private Q6KRowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        if (L == 16 && B.length() == 16) matVec16(w, cols, x, xOff, out, outOff, rowStart, rowEnd);
        else DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
    }

    /**
     * The product for 16-lane vectors. Step (h, c) covers lanes 16c..16c+15 of half h: low nibbles at bytes
     * 64h + 16c (quarters 0 and 2) and 64h + 32 + 16c (quarters 1 and 3), high pairs at 128 + 32h + 16c, scales
     * 8h + 2t + c for quarter t.
     */
    private static void matVec16(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd) {
        int blocks = cols / KQuants.BLOCK;
        long rowBytes = (long) blocks * BLOCK_BYTES;
        int o = rowStart;
        for (; o + 4 <= rowEnd; o += 4) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < blocks; k++) {
                long kb = (long) k * BLOCK_BYTES;
                long k0 = b0 + kb, k1 = b1 + kb, k2 = b2 + kb, k3 = b3 + kb;
                float d0 = KQuants.half(w, k0 + KQuants.Q6K_D), d1 = KQuants.half(w, k1 + KQuants.Q6K_D);
                float d2 = KQuants.half(w, k2 + KQuants.Q6K_D), d3 = KQuants.half(w, k3 + KQuants.Q6K_D);
                for (int step = 0; step < 4; step++) {
                    int half = step >> 1, c = step & 1;
                    int xo = xOff + k * KQuants.BLOCK + 128 * half + 16 * c;
                    FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 32);
                    FloatVector x2 = FloatVector.fromArray(F, x, xo + 64), x3 = FloatVector.fromArray(F, x, xo + 96);
                    int ql = 64 * half + 16 * c, qh = KQuants.Q6K_QH + 32 * half + 16 * c, sc = 8 * half + c;
                    IntVector p, r, h;
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    h = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a0 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc)), a0);
                    a0 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc + 2)), a0);
                    a0 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc + 4)), a0);
                    a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc + 6)), a0);
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    h = (IntVector) ByteVector.fromMemorySegment(B, w, k1 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a1 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                            .fma(FloatVector.broadcast(F, d1 * KQuants.q6Scale(w, k1, sc)), a1);
                    a1 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                            .fma(FloatVector.broadcast(F, d1 * KQuants.q6Scale(w, k1, sc + 2)), a1);
                    a1 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                            .fma(FloatVector.broadcast(F, d1 * KQuants.q6Scale(w, k1, sc + 4)), a1);
                    a1 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                            .fma(FloatVector.broadcast(F, d1 * KQuants.q6Scale(w, k1, sc + 6)), a1);
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    h = (IntVector) ByteVector.fromMemorySegment(B, w, k2 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a2 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                            .fma(FloatVector.broadcast(F, d2 * KQuants.q6Scale(w, k2, sc)), a2);
                    a2 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                            .fma(FloatVector.broadcast(F, d2 * KQuants.q6Scale(w, k2, sc + 2)), a2);
                    a2 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                            .fma(FloatVector.broadcast(F, d2 * KQuants.q6Scale(w, k2, sc + 4)), a2);
                    a2 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                            .fma(FloatVector.broadcast(F, d2 * KQuants.q6Scale(w, k2, sc + 6)), a2);
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    h = (IntVector) ByteVector.fromMemorySegment(B, w, k3 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a3 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                            .fma(FloatVector.broadcast(F, d3 * KQuants.q6Scale(w, k3, sc)), a3);
                    a3 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                            .fma(FloatVector.broadcast(F, d3 * KQuants.q6Scale(w, k3, sc + 2)), a3);
                    a3 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                            .fma(FloatVector.broadcast(F, d3 * KQuants.q6Scale(w, k3, sc + 4)), a3);
                    a3 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                            .fma(FloatVector.broadcast(F, d3 * KQuants.q6Scale(w, k3, sc + 6)), a3);
                }
            }
            out[outOff + o] = a0.reduceLanes(VectorOperators.ADD);
            out[outOff + o + 1] = a1.reduceLanes(VectorOperators.ADD);
            out[outOff + o + 2] = a2.reduceLanes(VectorOperators.ADD);
            out[outOff + o + 3] = a3.reduceLanes(VectorOperators.ADD);
        }
        for (; o < rowEnd; o++) {
            long b0 = o * rowBytes;
            FloatVector a0 = FloatVector.zero(F);
            for (int k = 0; k < blocks; k++) {
                long k0 = b0 + (long) k * BLOCK_BYTES;
                float d0 = KQuants.half(w, k0 + KQuants.Q6K_D);
                for (int step = 0; step < 4; step++) {
                    int half = step >> 1, c = step & 1;
                    int xo = xOff + k * KQuants.BLOCK + 128 * half + 16 * c;
                    FloatVector x0 = FloatVector.fromArray(F, x, xo), x1 = FloatVector.fromArray(F, x, xo + 32);
                    FloatVector x2 = FloatVector.fromArray(F, x, xo + 64), x3 = FloatVector.fromArray(F, x, xo + 96);
                    int ql = 64 * half + 16 * c, qh = KQuants.Q6K_QH + 32 * half + 16 * c, sc = 8 * half + c;
                    IntVector p, r, h;
                    p = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    r = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + ql + 32, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    h = (IntVector) ByteVector.fromMemorySegment(B, w, k0 + qh, LE).convertShape(VectorOperators.B2I, Vectors.I, 0);
                    a0 = ((FloatVector) p.and(0xf).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(x0)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc)), a0);
                    a0 = ((FloatVector) r.and(0xf).or(h.and(0xc).lanewise(VectorOperators.LSHL, 2)).sub(32).convert(VectorOperators.I2F, 0)).mul(x1)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc + 2)), a0);
                    a0 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x2)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc + 4)), a0);
                    a0 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 4).and(0xf).or(h.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(x3)
                            .fma(FloatVector.broadcast(F, d0 * KQuants.q6Scale(w, k0, sc + 6)), a0);
                }
            }
            out[outOff + o] = a0.reduceLanes(VectorOperators.ADD);
        }
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
