package dev.loupe.model.cpu;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;
import dev.loupe.model.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Random weight tensors in every storage format, with blocks written byte by byte. */
final class TestTensors {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TestTensors() {}

    /** A {@code [rows, cols]} tensor of random values in {@code type}, in native memory any thread can read. */
    static WeightTensor random(DType type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        long n = (long) rows * cols;
        // One spare byte in front makes the data start unaligned, as tensors inside a mapped file often do.
        MemorySegment data = Arena.ofAuto().allocate(type.bytesFor(n) + 1, 64).asSlice(1);
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i++) data.set(F32, 4 * i, (float) rnd.nextGaussian());
            }
            case F16 -> {
                for (long i = 0; i < n; i++) data.set(I16, 2 * i, Floats.floatToF16((float) rnd.nextGaussian()));
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) data.set(I16, 2 * i, Floats.floatToBf16((float) rnd.nextGaussian()));
            }
            case Q8_0 -> {
                for (long b = 0; b < n / 32; b++) {
                    long at = b * 34;
                    data.set(I16, at, Floats.floatToF16(0.005f + 0.02f * rnd.nextFloat()));
                    for (int j = 0; j < 32; j++) data.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (rnd.nextInt(255) - 127));
                }
            }
            case Q4_0 -> {
                for (long b = 0; b < n / 32; b++) {
                    long at = b * 18;
                    data.set(I16, at, Floats.floatToF16(0.05f + 0.2f * rnd.nextFloat()));
                    for (int j = 0; j < 16; j++) data.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) rnd.nextInt(256));
                }
            }
            case Q4_K, Q5_K, Q6_K -> {
                // Random bytes everywhere (every scale, min, nibble and high-bit pattern), then plausible fp16 scales.
                for (long i = 0; i < data.byteSize(); i++) data.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(256));
                for (long b = 0; b < n / 256; b++) {
                    long at = b * type.blockBytes();
                    if (type == DType.Q6_K) {
                        data.set(I16, at + 208, Floats.floatToF16(0.0005f + 0.002f * rnd.nextFloat()));
                    } else {
                        data.set(I16, at, Floats.floatToF16(0.002f + 0.01f * rnd.nextFloat()));
                        data.set(I16, at + 2, Floats.floatToF16(0.002f + 0.01f * rnd.nextFloat()));
                    }
                }
            }
        }
        return new WeightTensor("test." + type, type, new long[]{rows, cols}, data, null);
    }

    static float[] randomFloats(int n, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }
}
