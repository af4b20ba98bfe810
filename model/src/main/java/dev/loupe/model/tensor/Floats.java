package dev.loupe.model.tensor;

/** Scalar conversions between the stored half-precision formats and float. */
public final class Floats {
    private Floats() {}

    public static float bf16ToFloat(short bits) { return Float.intBitsToFloat((bits & 0xffff) << 16); }

    /** Round-to-nearest-even float → bf16 (NaN kept quiet), as PyTorch does. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float f16ToFloat(short bits) { return Float.float16ToFloat(bits); }

    public static short floatToF16(float f) { return Float.floatToFloat16(f); }
}
