package dev.loupe.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The k-quant super-block layouts of ggml (Q4_K, Q5_K, Q6_K): 256 values per block, with per-sub-block scales
 * that are themselves quantized against fp16 super-block scales. This class is the scalar definition (used for
 * single-element reads, embedding rows and as the CPU kernels' scale reader); the vector kernels must give the
 * same floats.
 *
 * <p>Byte layouts (offsets within one block):
 * <ul>
 * <li>Q4_K, 144 bytes: d (fp16) at 0, dmin (fp16) at 2, 12 bytes of packed scales and mins at 4, 128 bytes of
 *     nibbles at 16. Values 64j..64j+31 are the low nibbles of bytes 32j..32j+31, values 64j+32..64j+63 their
 *     high nibbles; sub-block s = value / 32 has value = (d·scale_s)·q − dmin·min_s.</li>
 * <li>Q5_K, 176 bytes: as Q4_K, but 32 bytes of fifth bits at 16 and the nibbles at 48; bit s of byte l of the
 *     fifth bits is the high bit (worth 16) of value 32s + l.</li>
 * <li>Q6_K, 210 bytes: 128 bytes of low nibbles at 0, 64 bytes of 2-bit high pairs at 128, sixteen int8 scales at
 *     192, d (fp16) at 208. In half h (values 128h..128h+127), quarter t and lane l < 32 (value 128h + 32t + l),
 *     the low nibble is byte 64h + 32·(t mod 2) + l (low half for t < 2, high half otherwise), the high pair is bits
 *     2t, 2t+1 of byte 128 + 32h + l, and value = (d·scale_{value/16})·(q − 32).</li>
 * </ul>
 * The packed 6-bit scales and mins of Q4_K/Q5_K: for s < 4, scale = byte s & 63 and min = byte s+4 & 63; for
 * s ≥ 4, the low four bits come from byte s+4 (scale: its low nibble, min: its high nibble) and the top two bits
 * from the top two bits of byte s−4 (scale) or byte s (min).
 *
 * <p>Products are rounded in the order ggml's reference dequantizer rounds them (the sub-block scale d·scale
 * first), so the floats are identical to llama.cpp's.
 */
public final class KQuants {
    /** Values per super-block. */
    public static final int BLOCK = 256;
    /** Values per sub-block whose scale (and min) is stored as one unit; the kernels' decoding granularity. */
    public static final int SUB = 32;
    /** Byte offsets inside the blocks. */
    public static final int Q4K_SCALES = 4, Q4K_QS = 16, Q5K_QH = 16, Q5K_QS = 48, Q6K_QH = 128, Q6K_SCALES = 192, Q6K_D = 208;

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private KQuants() {}

    private static int u8(MemorySegment w, long at) { return w.get(ValueLayout.JAVA_BYTE, at) & 0xff; }

    /** The fp16 at byte {@code at}, as a float. */
    public static float half(MemorySegment w, long at) { return Float.float16ToFloat(w.get(I16, at)); }

    /** Sub-block {@code s}'s 6-bit scale, from the 12 packed bytes at {@code scales} (Q4_K, Q5_K). */
    public static int scale(MemorySegment w, long scales, int s) {
        return s < 4 ? u8(w, scales + s) & 63 : (u8(w, scales + s + 4) & 0xf) | (u8(w, scales + s - 4) >>> 6) << 4;
    }

    /** Sub-block {@code s}'s 6-bit min, from the 12 packed bytes at {@code scales} (Q4_K, Q5_K). */
    public static int min(MemorySegment w, long scales, int s) {
        return s < 4 ? u8(w, scales + s + 4) & 63 : (u8(w, scales + s + 4) >>> 4) | (u8(w, scales + s) >>> 6) << 4;
    }

    /** Q6_K's signed 8-bit scale of 16-value sub-block {@code s} of the block at {@code block}. */
    public static int q6Scale(MemorySegment w, long block, int s) { return w.get(ValueLayout.JAVA_BYTE, block + Q6K_SCALES + s); }

    /** Value {@code index} (within the whole tensor) of a k-quant tensor. */
    static float value(DType type, MemorySegment w, long index) {
        long block = index / BLOCK * type.blockBytes();
        int v = (int) (index % BLOCK);
        return switch (type) {
            case Q4_K, Q5_K -> {
                int s = v / SUB, l = v % SUB;
                float d = half(w, block) * scale(w, block + Q4K_SCALES, s);
                float m = half(w, block + 2) * min(w, block + Q4K_SCALES, s);
                int q;
                if (type == DType.Q4_K) {
                    q = u8(w, block + Q4K_QS + 32 * (s / 2) + l) >>> 4 * (s % 2) & 0xf;
                } else {
                    q = (u8(w, block + Q5K_QS + 32 * (s / 2) + l) >>> 4 * (s % 2) & 0xf)
                            | (u8(w, block + Q5K_QH + l) >>> s & 1) << 4;
                }
                yield d * q - m;
            }
            case Q6_K -> {
                int h = v / 128, t = v % 128 / 32, l = v % 32;
                int low = u8(w, block + 64 * h + 32 * (t % 2) + l) >>> 4 * (t / 2) & 0xf;
                int high = u8(w, block + Q6K_QH + 32 * h + l) >>> 2 * t & 3;
                float d = half(w, block + Q6K_D) * q6Scale(w, block, v / 16);
                yield d * ((low | high << 4) - 32);
            }
            default -> throw new IllegalArgumentException(type + " is not a k-quant type");
        };
    }

    /**
     * Values {@code first .. first+count)} into {@code dst[off..]}, where {@code first} and {@code count} are multiples
     * of 32: the same floats as {@link #value}, with each sub-block's scale and min read once.
     */
    static void dequantize(DType type, MemorySegment w, long first, int count, float[] dst, int off) {
        for (int s0 = 0; s0 < count; s0 += SUB) {
            long v0 = first + s0;
            long block = v0 / BLOCK * type.blockBytes();
            int v = (int) (v0 % BLOCK), s = v / SUB;
            switch (type) {
                case Q4_K, Q5_K -> {
                    float d = half(w, block) * scale(w, block + Q4K_SCALES, s);
                    float m = half(w, block + 2) * min(w, block + Q4K_SCALES, s);
                    long qs = block + (type == DType.Q4_K ? Q4K_QS : Q5K_QS) + 32 * (s / 2);
                    int shift = 4 * (s % 2);
                    for (int l = 0; l < SUB; l++) {
                        int q = u8(w, qs + l) >>> shift & 0xf;
                        if (type == DType.Q5_K) q |= (u8(w, block + Q5K_QH + l) >>> s & 1) << 4;
                        dst[off + s0 + l] = d * q - m;
                    }
                }
                case Q6_K -> {
                    int h = s / 4, t = s % 4;
                    long ql = block + 64 * h + 32 * (t % 2), qh = block + Q6K_QH + 32 * h;
                    float dBlock = half(w, block + Q6K_D);
                    for (int l = 0; l < SUB; l++) {
                        int q = (u8(w, ql + l) >>> 4 * (t / 2) & 0xf) | (u8(w, qh + l) >>> 2 * t & 3) << 4;
                        dst[off + s0 + l] = dBlock * q6Scale(w, block, (v + l) / 16) * (q - 32);
                    }
                }
                default -> throw new IllegalArgumentException(type + " is not a k-quant type");
            }
        }
    }
}
