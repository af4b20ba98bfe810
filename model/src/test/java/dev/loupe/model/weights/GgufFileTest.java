package dev.loupe.model.weights;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static dev.loupe.model.weights.Damage.assertOneLineError;
import static dev.loupe.model.weights.GgufBuilder.INT16;
import static dev.loupe.model.weights.GgufBuilder.INT32;
import static dev.loupe.model.weights.GgufBuilder.UINT8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GGUF metadata of every value type, tensor types and shapes, on hand-built files. */
class GgufFileTest {
    @TempDir Path tmp;

    @Test
    void everyMetadataTypeReadsBack() throws IOException {
        Path p = new GgufBuilder()
                .u8("a.u8", 250).i8("a.i8", -5).u16("a.u16", 65000).i16("a.i16", -30000)
                .u32("a.u32", 4_000_000_000L).i32("a.i32", -7).u64("a.u64", 1L << 40).i64("a.i64", -(1L << 40))
                .f32("a.f32", 1.5f).f64("a.f64", 0.1).bool("a.bool", true).str("a.str", "héllo ▁world")
                .strings("a.strings", "<pad>", "", "▁the")
                .floats("a.floats", -1f, 0.25f)
                .ints("a.i32s", INT32, 4, 3, -1, 6)
                .ints("a.u8s", UINT8, 1, 1, 255)
                .ints("a.i16s", INT16, 2, -2, 300)
                .nested("a.nested", new int[]{1, 2}, new int[]{3})
                .write(tmp.resolve("meta.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(250, f.getInt("a.u8"));
            assertEquals(-5, f.getInt("a.i8"));
            assertEquals(65000, f.getInt("a.u16"));
            assertEquals(-30000, f.getInt("a.i16"));
            assertEquals(4_000_000_000L, f.getLong("a.u32"));
            assertEquals(-7, f.getInt("a.i32"));
            assertEquals(1L << 40, f.getLong("a.u64"));
            assertEquals(-(1L << 40), f.getLong("a.i64"));
            assertEquals(1.5f, f.getFloat("a.f32"));
            assertEquals(0.1f, f.getFloat("a.f64"));
            assertEquals(-7f, f.getFloat("a.i32"));
            assertTrue(f.getBool("a.bool"));
            assertEquals("héllo ▁world", f.getString("a.str"));
            assertEquals(List.of("<pad>", "", "▁the"), f.getStringArray("a.strings"));
            assertArrayEquals(new float[]{-1f, 0.25f}, f.getFloatArray("a.floats"));
            assertArrayEquals(new int[]{3, -1, 6}, f.getIntArray("a.i32s"));
            assertArrayEquals(new int[]{1, 255}, f.getIntArray("a.u8s"));
            assertArrayEquals(new int[]{-2, 300}, f.getIntArray("a.i16s"));
            assertEquals(2, f.arrayLength("a.nested"));
            assertEquals(GgufFile.ValueType.ARRAY, f.elementType("a.nested"));
            assertEquals(GgufFile.ValueType.UINT64, f.type("a.u64"));
            assertEquals("array of 3 STRING", f.describe("a.strings"));
            assertEquals(18, f.keys().size());
            assertEquals(List.of(), f.tensorInfos());
            // Defaults apply only to absent keys.
            assertEquals(9, f.getInt("absent", 9));
            assertEquals("x", f.getString("absent", "x"));
            assertFalse(f.has("absent"));
        }
    }

    @Test
    void wrongTypesAndRangesAreOneLineErrorsNamingFileAndKey() throws IOException {
        Path p = new GgufBuilder().str("k.str", "x").u32("k.u32", 4_000_000_000L).u64("k.big", -1L).f32("k.f", 2f)
                .strings("k.strings", "a").ints("k.i32s", INT32, 4, 1)
                .write(tmp.resolve("types.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            String file = p.toString();
            assertOneLineError(() -> f.getInt("k.str"), file, "k.str", "STRING", "integer");
            assertOneLineError(() -> f.getInt("k.u32"), file, "k.u32", "4000000000");
            assertOneLineError(() -> f.getLong("k.big"), file, "k.big", "18446744073709551615");
            assertOneLineError(() -> f.getString("k.f"), file, "k.f", "FLOAT32", "string");
            assertOneLineError(() -> f.getFloatArray("k.strings"), file, "k.strings", "array of STRING");
            assertOneLineError(() -> f.getStringArray("k.i32s"), file, "k.i32s");
            assertOneLineError(() -> f.getBool("k.f"), file, "k.f");
            assertOneLineError(() -> f.getString("nope"), file, "nope", "missing");
            // A default never hides a wrong type.
            assertOneLineError(() -> f.getInt("k.str", 3), file, "k.str");
            assertEquals("x", f.getString("k.str", "dflt"));
        }
    }

    /** Hand-encoded tensors: values follow from the ggml block layouts, not from the reader. */
    @Test
    void tensorTypesAndRowMajorShapes() throws IOException {
        byte[] q8 = new byte[34];
        q8[0] = 0x00; q8[1] = 0x38; // fp16 0.5
        for (int j = 0; j < 32; j++) q8[2 + j] = (byte) (j - 16);
        byte[] q4 = new byte[18];
        q4[0] = 0x00; q4[1] = 0x34; // fp16 0.25
        for (int j = 0; j < 16; j++) q4[2 + j] = (byte) ((j & 0x0f) | ((15 - j) << 4));
        byte[] f16 = {0x00, 0x3e, 0x00, (byte) 0xc0}; // 1.5, -2
        byte[] bf16 = {(byte) 0xc0, 0x3f, 0x40, (byte) 0xc0}; // 1.5, -3
        Path p = new GgufBuilder().version(2).alignment(64)
                .tensor("m.f32", 0, new long[]{3, 2}, GgufBuilder.f32Bytes(1, 2, 3, 4, 5, 6))
                .tensor("v.f16", 1, new long[]{2}, f16)
                .tensor("v.bf16", 30, new long[]{2}, bf16)
                .tensor("q.q8", 8, new long[]{32, 1}, q8)
                .tensor("q.q4", 2, new long[]{32}, q4)
                .tensor("q.k", 12, new long[]{256}, new byte[144])
                .tensor("q.k2", 10, new long[]{256}, new byte[84])
                .write(tmp.resolve("tensors.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(2, f.version());
            assertEquals(64, f.alignment());
            WeightTensor m = f.tensor("m.f32");
            // ne = [3, 2]: 2 rows of 3 contiguous values.
            assertArrayEquals(new long[]{2, 3}, m.shape());
            assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, m.toFloatArray());
            assertEquals(0, f.tensorInfo("m.f32").offset() % 64);
            assertArrayEquals(new float[]{1.5f, -2f}, f.tensor("v.f16").toFloatArray());
            assertArrayEquals(new float[]{1.5f, -3f}, f.tensor("v.bf16").toFloatArray());
            WeightTensor q8t = f.tensor("q.q8");
            assertEquals(DType.Q8_0, q8t.dtype());
            assertArrayEquals(new long[]{1, 32}, q8t.shape());
            for (int j = 0; j < 32; j++) assertEquals(0.5f * (j - 16), q8t.get(j));
            WeightTensor q4t = f.tensor("q.q4");
            for (int j = 0; j < 16; j++) {
                assertEquals(0.25f * (j - 8), q4t.get(j));
                assertEquals(0.25f * (15 - j - 8), q4t.get(16 + j));
            }
            assertEquals("Q4_K (12)", f.tensorInfo("q.k").typeName());
            assertEquals(DType.Q4_K, f.tensor("q.k").dtype());
            assertArrayEquals(new float[256], f.tensor("q.k").toFloatArray());
            assertEquals("Q2_K (10)", f.tensorInfo("q.k2").typeName());
            assertOneLineError(() -> f.tensor("q.k2"), p.toString(), "q.k2", "Q2_K (10)", "Q4_K, Q5_K, Q6_K");
        }
    }

    @Test
    void quantizedRowsMustBeWholeBlocks() throws IOException {
        Path p = new GgufBuilder().tensor("bad", 8, new long[]{16, 2}, new byte[34]).write(tmp.resolve("q.gguf"));
        assertOneLineError(() -> GgufFile.open(p), p.toString(), "bad", "multiple of 32");
    }

    private static GgufBuilder gemma2(int layers, int hidden, int heads, int headDim) {
        return new GgufBuilder().str("general.architecture", "gemma2")
                .u32("gemma2.embedding_length", hidden).u32("gemma2.block_count", layers)
                .u32("gemma2.feed_forward_length", 4 * hidden).u32("gemma2.attention.head_count", heads)
                .u32("gemma2.attention.head_count_kv", heads / 2).u32("gemma2.attention.key_length", headDim)
                .f32("gemma2.attention.layer_norm_rms_epsilon", 1e-6f)
                .strings("tokenizer.ggml.tokens", "<pad>", "<eos>", "<bos>", "a");
    }

    /** llama.cpp: 46 layers is the 27B model, scaled by (hidden/heads)^-0.5; every other size by head_dim^-0.5. */
    @Test
    void queryScaleFollowsLlamaCppsLayerRule() throws IOException {
        try (GgufFile f = GgufFile.open(gemma2(46, 64, 4, 8).write(tmp.resolve("27b-like.gguf")))) {
            ModelConfig c = GgufCheckpoint.config(f);
            assertEquals(16f, c.queryPreAttnScalar());
            assertEquals(8, c.headDim());
            assertEquals(4, c.vocabSize());
            // Absent keys take llama.cpp's Gemma 2 defaults.
            assertEquals(10000f, c.ropeTheta());
            assertEquals(4096, c.slidingWindow());
            assertEquals(50f, c.attnSoftcap());
            assertEquals(30f, c.finalSoftcap());
            assertEquals(8f, c.embeddingScale());
        }
        try (GgufFile f = GgufFile.open(gemma2(26, 64, 4, 8).write(tmp.resolve("2b-like.gguf")))) {
            assertEquals(8f, GgufCheckpoint.config(f).queryPreAttnScalar());
        }
    }

    /** gemma2.attention.scale holds s = qpas^-0.5; 27B's 144 is stored as 1/12. */
    @Test
    void explicitAttentionScaleWins() throws IOException {
        Path p = gemma2(26, 64, 4, 8).f32("gemma2.attention.scale", 1f / 12).write(tmp.resolve("scaled.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            // An integer qpas comes back exactly, so the GGUF scales scores as its HF folder does.
            assertEquals(144f, GgufCheckpoint.config(f).queryPreAttnScalar());
        }
        Path bad = gemma2(26, 64, 4, 8).f32("gemma2.attention.scale", -1f).write(tmp.resolve("bad.gguf"));
        try (GgufFile f = GgufFile.open(bad)) {
            assertOneLineError(() -> GgufCheckpoint.config(f), bad.toString(), "gemma2.attention.scale");
        }
    }

    /** hidden 3584 gives sqrt = 59.866...: GGUF uses the f32 value, not a bf16-rounded one. */
    @Test
    void embeddingScaleIsFloat32() throws IOException {
        try (GgufFile f = GgufFile.open(gemma2(42, 3584, 16, 256).write(tmp.resolve("9b-like.gguf")))) {
            assertEquals((float) Math.sqrt(3584), GgufCheckpoint.config(f).embeddingScale());
        }
    }

    @Test
    void missingRequiredMetadataNamesTheKey() throws IOException {
        Path p = new GgufBuilder().str("general.architecture", "gemma2").u32("gemma2.embedding_length", 64)
                .write(tmp.resolve("sparse.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            assertOneLineError(() -> GgufCheckpoint.config(f), p.toString(), "gemma2.attention.head_count", "missing");
        }
    }
}
