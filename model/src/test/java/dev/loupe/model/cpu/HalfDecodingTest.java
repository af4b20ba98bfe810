package dev.loupe.model.cpu;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The vectorized half-precision decoders agree bit for bit with the JDK's scalar conversions on all 65536 patterns. */
class HalfDecodingTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static float[] decodeAll(DType type) {
        MemorySegment data = MemorySegment.ofArray(new byte[2 * 65536]);
        for (int i = 0; i < 65536; i++) data.set(I16, 2L * i, (short) i);
        WeightTensor w = new WeightTensor("all", type, new long[]{256, 256}, data, null);
        float[] out = new float[65536];
        for (int r = 0; r < 256; r++) RowKernels.of(type).decode(w.data(), 256, r, 0, 256, out, r * 256);
        return out;
    }

    @Test
    void f16() {
        float[] got = decodeAll(DType.F16);
        for (int i = 0; i < 65536; i++) {
            float want = Float.float16ToFloat((short) i);
            if (Float.isNaN(want)) assertEquals(true, Float.isNaN(got[i]), "pattern " + Integer.toHexString(i));
            else assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), "pattern " + Integer.toHexString(i));
        }
    }

    @Test
    void bf16() {
        float[] got = decodeAll(DType.BF16);
        for (int i = 0; i < 65536; i++) {
            assertEquals(i << 16, Float.floatToRawIntBits(got[i]), "pattern " + Integer.toHexString(i));
        }
    }
}
