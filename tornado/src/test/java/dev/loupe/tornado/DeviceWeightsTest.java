package dev.loupe.tornado;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The device weight store on the host: the 16-bit decode the kernels do, and splitting matrices across pools. */
class DeviceWeightsTest {

    @Test
    void theTableDecodeIsExactForEveryBf16AndF16BitPattern() {
        float[] table = DeviceWeights.decodeTable();
        for (int b = 0; b < 65536; b++) {
            short bits = (short) b;
            float bf16 = Floats.bf16ToFloat(bits), f16 = Floats.f16ToFloat(bits);
            // infinities and NaNs never occur in weights; the table gives large finite values there
            if (Float.isFinite(bf16)) assertEquals(Float.floatToIntBits(bf16), Float.floatToIntBits(DeviceWeights.decode(table, DeviceWeights.Precision.BF16, bits)), "bf16 0x" + Integer.toHexString(b));
            if (Float.isFinite(f16)) assertEquals(Float.floatToIntBits(f16), Float.floatToIntBits(DeviceWeights.decode(table, DeviceWeights.Precision.F16, bits)), "f16 0x" + Integer.toHexString(b));
        }
    }

    @Test
    void matricesBiggerThanAPoolAreSplitByRowsAndKeepEveryValue() {
        try (Arena arena = Arena.ofConfined()) {
            WeightTensor big = tensor(arena, "big", DType.BF16, 37, 10);
            WeightTensor small = tensor(arena, "small", DType.F32, 5, 10);
            WeightTensor other = tensor(arena, "other", DType.BF16, 3, 10);
            // 64 halves a pool: 6 rows of 10
            DeviceWeights store = new DeviceWeights(List.of(big, small, other, big), DeviceWeights.Policy.AUTO, 128);
            DeviceWeights.Placement p = store.placement(big);
            assertEquals(DeviceWeights.Precision.BF16, p.precision());
            int next = 0;
            for (DeviceWeights.Part part : p.parts()) {
                assertEquals(next, part.firstRow(), "parts cover the rows in order");
                next += part.rows();
            }
            assertEquals(37, next);
            assertTrue(p.parts().size() >= 7, "split across pools: " + p.parts());
            assertEquals(DeviceWeights.Precision.F32, store.placement(small).precision());
            for (WeightTensor w : List.of(big, small, other)) {
                for (int r = 0; r < w.rows(); r++) {
                    for (int c = 0; c < w.cols(); c++) assertEquals(w.get((long) r * w.cols() + c), store.value(w, r, c), w.name() + " " + r + "," + c);
                }
            }
            // f32 policy: everything F32; bf16 policy: F32 rounded to nearest even
            DeviceWeights f32 = new DeviceWeights(List.of(big), DeviceWeights.Policy.F32, 1 << 20);
            assertEquals(DeviceWeights.Precision.F32, f32.placement(big).precision());
            DeviceWeights bf16 = new DeviceWeights(List.of(small), DeviceWeights.Policy.BF16, 1 << 20);
            assertEquals(Floats.bf16ToFloat(Floats.floatToBf16(small.get(13))), bf16.value(small, 1, 3));
            var tooWide = assertThrows(dev.loupe.errors.BadInputException.class,
                    () -> new DeviceWeights(List.of(big), DeviceWeights.Policy.AUTO, 16));
            assertTrue(tooWide.getMessage().contains("big") && tooWide.getMessage().contains("loupe.tornado.pool.mb"), tooWide.getMessage());
        }
    }

    @Test
    void runsKeptTogetherStayContiguousForOneFusedLaunch() {
        try (Arena arena = Arena.ofConfined()) {
            WeightTensor first = tensor(arena, "first", DType.BF16, 4, 10);
            WeightTensor q = tensor(arena, "q", DType.BF16, 2, 10), k = tensor(arena, "k", DType.BF16, 1, 10), v = tensor(arena, "v", DType.BF16, 1, 10);
            WeightTensor wide = tensor(arena, "wide", DType.BF16, 1, 12);
            // 64 halves a pool: after first (40) the 40 of q, k, v do not fit the 24 left, so they start a new pool
            List<WeightTensor> all = List.of(first, q, k, v, wide);
            DeviceWeights apart = new DeviceWeights(all, DeviceWeights.Policy.AUTO, 128);
            assertNull(apart.contiguous(new WeightTensor[]{q, k, v}), "without the run, q is split from k and v");
            DeviceWeights together = new DeviceWeights(all, List.of(List.of(q, k, v)), DeviceWeights.Policy.AUTO, 128);
            DeviceWeights.Part run = together.contiguous(new WeightTensor[]{q, k, v});
            assertNotNull(run);
            assertEquals(4, run.rows());
            assertNull(together.contiguous(new WeightTensor[]{v, wide}), "different widths never fuse");
            for (WeightTensor w : all) {
                for (int r = 0; r < w.rows(); r++) assertEquals(w.get((long) r * w.cols()), together.value(w, r, 0));
            }
        }
    }

    /** A rows × cols tensor of distinct values (x.yz pattern), stored as {@code dtype}. */
    static WeightTensor tensor(Arena arena, String name, DType dtype, int rows, int cols) {
        MemorySegment data = arena.allocate(dtype.bytesFor((long) rows * cols));
        for (int i = 0; i < rows * cols; i++) {
            float v = (i % 17 - 8) * 0.37f + i * 1e-3f;
            if (dtype == DType.F32) data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, v);
            else data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, Floats.floatToBf16(v));
        }
        return new WeightTensor(name, dtype, new long[]{rows, cols}, data, null);
    }
}
