package dev.loupe.model.tensor;

/**
 * Storage types of weight tensors. Quantized types store blocks of {@link #blockSize()} values in
 * {@link #blockBytes()} bytes (llama.cpp's ggml layouts).
 */
public enum DType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /** 32 values: fp16 scale d, then 32 signed bytes q; value = d·q. */
    Q8_0(32, 34),
    /** 32 values: fp16 scale d, then 16 bytes; low nibbles are values 0..15, high nibbles 16..31; value = d·(q−8). */
    Q4_0(32, 18),
    /**
     * 256 values in eight sub-blocks of 32: fp16 d and dmin, 12 bytes of packed 6-bit sub-block scales and mins,
     * 128 bytes of nibbles; value = d·scale·q − dmin·min ({@link KQuants}).
     */
    Q4_K(256, 144),
    /** As {@link #Q4_K}, plus 32 bytes holding each value's fifth bit: 176 bytes per 256 values. */
    Q5_K(256, 176),
    /**
     * 256 values in sixteen sub-blocks of 16: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 signed
     * 8-bit scales, fp16 d; value = d·scale·(q − 32) ({@link KQuants}).
     */
    Q6_K(256, 210);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int blockSize() { return blockSize; }
    public int blockBytes() { return blockBytes; }
    public boolean quantized() { return blockSize > 1; }

    /** Bytes taken by {@code count} values; {@code count} must be a whole number of blocks. */
    public long bytesFor(long count) {
        if (count % blockSize != 0) throw new IllegalArgumentException(this + " needs multiples of " + blockSize + " values, got " + count);
        return count / blockSize * blockBytes;
    }
}
