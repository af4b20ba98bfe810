package dev.loupe.model;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Test-only k-quant writer, written from ggml's block definitions independently of the readers: it packs chosen
 * logical values (fp16 super-block scales, 6-bit or int8 sub-block scales and mins, integer quants) into bytes,
 * and computes the value each element stands for straight from those logical values, never from the bytes.
 * {@link #quantizeQ5K} is a small Q5_K quantizer built on it.
 */
public final class KQuantPacker {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private KQuantPacker() {}

    /**
     * One super-block's logical content. Q4_K/Q5_K: {@code scales}, {@code mins} are 8 values in 0..63, {@code q}
     * 256 values in 0..15 (Q4_K) or 0..31 (Q5_K). Q6_K: {@code scales} are 16 values in −128..127, {@code mins}
     * unused, {@code q} 256 values in −32..31 (the value is d·scale·q).
     */
    public record Block(short d, short dmin, int[] scales, int[] mins, int[] q) {}

    /** The value element {@code v} of {@code b} stands for, rounded as ggml rounds it (sub-block scale first). */
    public static float expected(DType type, Block b, int v) {
        float d = Float.float16ToFloat(b.d);
        return switch (type) {
            case Q4_K, Q5_K -> {
                float scale = d * b.scales[v / 32];
                float min = Float.float16ToFloat(b.dmin) * b.mins[v / 32];
                yield scale * b.q[v] - min;
            }
            case Q6_K -> (d * b.scales[v / 16]) * b.q[v];
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** Writes {@code b} as one block of {@code type} at byte {@code at} of {@code out}. */
    public static void pack(DType type, Block b, MemorySegment out, long at) {
        byte[] bytes = new byte[type.blockBytes()];
        switch (type) {
            case Q4_K, Q5_K -> {
                putHalf(bytes, 0, b.d);
                putHalf(bytes, 2, b.dmin);
                // Scales and mins of sub-blocks 0..3 take the low six bits of bytes 0..3 and 4..7; those of
                // sub-blocks 4..7 keep their low four bits in bytes 8..11 (scale low, min high) and their top two
                // bits in the top bits of bytes 0..3 (scales) and 4..7 (mins).
                for (int s = 0; s < 4; s++) {
                    bytes[4 + s] = (byte) (b.scales[s] | (b.scales[s + 4] >> 4) << 6);
                    bytes[4 + s + 4] = (byte) (b.mins[s] | (b.mins[s + 4] >> 4) << 6);
                    bytes[4 + s + 8] = (byte) ((b.scales[s + 4] & 15) | (b.mins[s + 4] & 15) << 4);
                }
                int qs = type == DType.Q4_K ? 16 : 48;
                for (int v = 0; v < 256; v++) {
                    int s = v / 32, l = v % 32;
                    // Sub-blocks 2j and 2j+1 share bytes 32j..32j+31: low nibbles, then high nibbles.
                    bytes[qs + 32 * (s / 2) + l] |= (byte) ((b.q[v] & 15) << (s % 2 == 0 ? 0 : 4));
                    if (type == DType.Q5_K) bytes[16 + l] |= (byte) ((b.q[v] >> 4) << s);
                }
            }
            case Q6_K -> {
                for (int v = 0; v < 256; v++) {
                    int stored = b.q[v] + 32;
                    int half = v / 128, quarter = v % 128 / 32, l = v % 32;
                    bytes[64 * half + (quarter % 2 == 1 ? 32 : 0) + l] |= (byte) ((stored & 15) << (quarter >= 2 ? 4 : 0));
                    bytes[128 + 32 * half + l] |= (byte) ((stored >> 4) << (2 * quarter));
                }
                for (int s = 0; s < 16; s++) bytes[192 + s] = (byte) b.scales[s];
                putHalf(bytes, 208, b.d);
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, out, at, bytes.length);
    }

    private static void putHalf(byte[] bytes, int at, short h) {
        bytes[at] = (byte) h;
        bytes[at + 1] = (byte) (h >> 8);
    }

    /** A block of random logical values (every bit pattern of scales, mins and quants occurs across blocks). */
    public static Block random(DType type, Random rnd) {
        int[] q = new int[256];
        if (type == DType.Q6_K) {
            int[] scales = new int[16];
            for (int s = 0; s < 16; s++) scales[s] = rnd.nextInt(256) - 128;
            for (int v = 0; v < 256; v++) q[v] = rnd.nextInt(64) - 32;
            return new Block(Float.floatToFloat16(0.0001f + 0.01f * rnd.nextFloat()), (short) 0, scales, null, q);
        }
        int[] scales = new int[8], mins = new int[8];
        for (int s = 0; s < 8; s++) {
            scales[s] = rnd.nextInt(64);
            mins[s] = rnd.nextInt(64);
        }
        int levels = type == DType.Q4_K ? 16 : 32;
        for (int v = 0; v < 256; v++) q[v] = rnd.nextInt(levels);
        return new Block(Float.floatToFloat16(0.001f + 0.01f * rnd.nextFloat()),
                Float.floatToFloat16(0.001f + 0.01f * rnd.nextFloat()), scales, mins, q);
    }

    /** A tensor and the floats its blocks stand for. */
    public record Packed(WeightTensor tensor, float[] values) {}

    /** Packs {@code blocks} (row-major, {@code cols / 256} per row) into a {@code [rows, cols]} tensor. */
    public static Packed tensor(String name, DType type, int rows, int cols, Block[] blocks) {
        MemorySegment data = Arena.ofAuto().allocate(type.bytesFor((long) rows * cols), 64);
        float[] values = new float[rows * cols];
        for (int k = 0; k < blocks.length; k++) {
            pack(type, blocks[k], data, (long) k * type.blockBytes());
            for (int v = 0; v < 256; v++) values[k * 256 + v] = expected(type, blocks[k], v);
        }
        return new Packed(new WeightTensor(name, type, new long[]{rows, cols}, data, null), values);
    }

    /**
     * Q5_K blocks for {@code x} (a multiple of 256 values): per sub-block of 32 an affine grid of 32 levels from
     * min(x, 0) to max(x), whose step and offset are then quantized to 6 bits against the block's largest ones,
     * and each value rounded to its nearest level under the stored (quantized) step and offset.
     */
    public static Block[] quantizeQ5K(float[] x) {
        Block[] out = new Block[x.length / 256];
        for (int k = 0; k < out.length; k++) {
            double[] step = new double[8], offset = new double[8];
            double maxStep = 0, maxOffset = 0;
            for (int s = 0; s < 8; s++) {
                double lo = 0, hi = 0;
                for (int l = 0; l < 32; l++) {
                    double v = x[k * 256 + s * 32 + l];
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                step[s] = (hi - lo) / 31;
                offset[s] = -lo;
                maxStep = Math.max(maxStep, step[s]);
                maxOffset = Math.max(maxOffset, offset[s]);
            }
            short d = Float.floatToFloat16((float) (maxStep / 63)), dmin = Float.floatToFloat16((float) (maxOffset / 63));
            float dF = Float.float16ToFloat(d), dminF = Float.float16ToFloat(dmin);
            int[] scales = new int[8], mins = new int[8], q = new int[256];
            for (int s = 0; s < 8; s++) {
                scales[s] = dF == 0 ? 0 : (int) Math.min(63, Math.round(step[s] / dF));
                mins[s] = dminF == 0 ? 0 : (int) Math.min(63, Math.round(offset[s] / dminF));
                float scale = dF * scales[s], min = dminF * mins[s];
                for (int l = 0; l < 32; l++) {
                    int v = s * 32 + l;
                    q[v] = scale == 0 ? 0 : (int) Math.max(0, Math.min(31, Math.round((x[k * 256 + v] + min) / scale)));
                }
            }
            out[k] = new Block(d, dmin, scales, mins, q);
        }
        return out;
    }
}
