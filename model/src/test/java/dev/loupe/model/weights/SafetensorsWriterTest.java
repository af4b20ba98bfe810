package dev.loupe.model.weights;

import dev.loupe.model.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SafetensorsWriterTest {
    @TempDir Path tmp;

    @Test
    void roundTripsEveryFloatTypeAndTheMetadata() throws IOException {
        Path file = tmp.resolve("t.safetensors");
        // 1.5, -2 and 0.25 are exact in every type; 1/3 rounds differently per type.
        float third = 1f / 3;
        SafetensorsWriter.write(file, Map.of("format", "pt"), List.of(
                SafetensorsWriter.Tensor.ofFloats("a", DType.F32, new long[]{2, 2}, new float[]{1.5f, -2f, 0.25f, third}),
                SafetensorsWriter.Tensor.ofFloats("b", DType.BF16, new long[]{3}, new float[]{1.5f, -2f, third}),
                SafetensorsWriter.Tensor.ofFloats("c", DType.F16, new long[]{1, 3}, new float[]{1.5f, 0.25f, third})), 2);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("a", "b", "c"), List.copyOf(f.names()));
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertArrayEquals(new float[]{1.5f, -2f, 0.25f, third}, f.tensor("a").toFloatArray());
            // bf16 keeps 8 significant bits: 1/3 = 0x3EAAAAAB rounds to 0x3EAB = 0.333984375.
            assertArrayEquals(new float[]{1.5f, -2f, 0.333984375f}, f.tensor("b").toFloatArray());
            // f16 keeps 11: 1/3 -> 0x3555 = 0.333251953125.
            assertArrayEquals(new float[]{1.5f, 0.25f, 0.333251953125f}, f.tensor("c").toFloatArray());
            assertArrayEquals(new long[]{1, 3}, f.tensor("c").shape());
        }
        byte[] bytes = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "header padded to 8 bytes");
        assertEquals(8 + headerLen + 16 + 6 + 6, bytes.length);
        assertFalse(Files.exists(tmp.resolve("t.safetensors.partial")));
    }

    @Test
    void aFailingWriteLeavesNoFileBehind() throws IOException {
        Path file = tmp.resolve("fail.safetensors");
        Files.writeString(file, "previous");
        var bad = new SafetensorsWriter.Tensor("x", DType.F32, new long[]{4}, (off, dst) -> {
            throw new IllegalStateException("generator broke");
        });
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, Map.of(), List.of(bad), 2));
        assertEquals("previous", Files.readString(file));
        assertFalse(Files.exists(tmp.resolve("fail.safetensors.partial")));
    }

    @Test
    void refusesQuantizedTypesAndDuplicateNames() {
        assertThrows(IllegalArgumentException.class, () -> new SafetensorsWriter.Tensor("q", DType.Q8_0, new long[]{32}, (o, d) -> {}));
        var t = SafetensorsWriter.Tensor.ofFloats("same", DType.F32, new long[]{1}, new float[]{1});
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(tmp.resolve("d.safetensors"), Map.of(), List.of(t, t), 1));
    }
}
