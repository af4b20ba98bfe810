package dev.loupe.model.weights;

import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.loupe.model.weights.Damage.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Damaged copies of tiny-a-f32.gguf. Offsets are found by searching the file for key and tensor names. */
class DamagedGgufTest {
    /** Fixture layout (checked in {@link #fixtureLayoutIsAsAssumed}): tensor infos end here, data starts 32-aligned. */
    private static final long INFOS_END = 12178, DATA_START = 12192, FILE_SIZE = 704672;

    @TempDir Path tmp;
    Path file;

    @BeforeEach
    void copy() throws IOException {
        file = Damage.copyFile(Fixtures.file("tiny-a/tiny-a-f32.gguf"), tmp.resolve("tiny.gguf"));
    }

    @Test
    void fixtureLayoutIsAsAssumed() throws IOException {
        assertEquals(FILE_SIZE, Files.size(file));
        // The last tensor info is output_norm.weight: 1 dim, ne 64, type 0, then its u64 offset ends the infos.
        assertEquals(INFOS_END, Damage.afterGgufString(file, "output_norm.weight") + 4 + 8 + 4 + 8);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(DATA_START, f.tensorInfo("token_embd.weight").offset());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 3, 4, 7, 8, 15, 23, 24, 30, 200, 3000, 9000, INFOS_END - 10, INFOS_END + 2, DATA_START, DATA_START + 1000, FILE_SIZE - 1})
    void truncated(long size) throws IOException {
        Damage.truncate(file, size);
        assertOneLineError(() -> Checkpoints.load(file), file.toString());
        assertOneLineError(() -> GgufFile.open(file), file.toString());
    }

    @Test
    void truncatedDataNamesTheTensor() throws IOException {
        Damage.truncate(file, FILE_SIZE - 1);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "output_norm.weight", "past the end");
    }

    @Test
    void badMagic() throws IOException {
        Damage.write(file, 0, "GGUX".getBytes());
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "not a GGUF file", "GGUX");
    }

    @Test
    void unsupportedVersions() throws IOException {
        Damage.writeU32(file, 4, 1);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "version 1");
        Damage.writeU32(file, 4, 99);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "version 99");
        Damage.writeU32(file, 4, Integer.reverseBytes(3));
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "big-endian");
    }

    @Test
    void version2IsAccepted() throws IOException {
        // v2 and v3 share the layout (v3 only added big-endian files).
        Damage.writeU32(file, 4, 2);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(2, f.version());
            assertEquals(46, f.tensorInfos().size());
        }
    }

    @Test
    void hugeCounts() throws IOException {
        Damage.writeU64(file, 8, 1L << 40);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "tensor count");
        Damage.writeU64(file, 8, 46);
        Damage.writeU64(file, 16, -1L);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "metadata count");
    }

    @Test
    void hugeStringLength() throws IOException {
        // The first metadata key's length sits right after the 24-byte header.
        Damage.writeU64(file, 24, 1L << 50);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "length");
    }

    @Test
    void hugeArrayLength() throws IOException {
        // tokens: type ARRAY (u32), element type STRING (u32), then the u64 count.
        long at = Damage.afterGgufString(file, "tokenizer.ggml.tokens") + 8;
        Damage.writeU64(file, at, 1L << 40);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "tokenizer.ggml.tokens");
    }

    @Test
    void unknownValueType() throws IOException {
        Damage.writeU32(file, Damage.afterGgufString(file, "gemma2.block_count"), 99);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "gemma2.block_count", "value type 99");
    }

    @Test
    void metadataOfTheWrongType() throws IOException {
        // UINT32 (4) -> FLOAT32 (6): same width, so the file still parses.
        Damage.writeU32(file, Damage.afterGgufString(file, "gemma2.block_count"), 6);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "gemma2.block_count", "FLOAT32", "integer");
    }

    @Test
    void wrongArchitecture() throws IOException {
        long at = Damage.afterGgufString(file, "general.architecture") + 4 + 8;
        Damage.write(file, at, "gemma3".getBytes());
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "general.architecture", "gemma3", "gemma2");
    }

    @Test
    void missingTensor() throws IOException {
        Damage.write(file, Damage.find(file, "blk.3.ffn_up.weight"), "blk.3.ffn_uq.weight".getBytes());
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "blk.3.ffn_up.weight", "missing");
    }

    @Test
    void shapeMismatch() throws IOException {
        // ne [64, 64] -> [128, 32]: same size, so only the shape check can catch it.
        long at = Damage.afterGgufString(file, "blk.0.attn_q.weight") + 4;
        Damage.writeU64(file, at, 128);
        Damage.writeU64(file, at + 8, 32);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "blk.0.attn_q.weight", "[32, 128]", "expected [64, 64]");
    }

    @Test
    void configDisagreeingWithTheTensors() throws IOException {
        long at = Damage.afterGgufString(file, "gemma2.feed_forward_length") + 4;
        Damage.writeU32(file, at, 256);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "blk.0.ffn_gate.weight", "expected [256, 64]");
    }

    @Test
    void unsupportedTensorType() throws IOException {
        // blk.1.attn_q.weight: n_dims, ne0, ne1, then the type.
        long at = Damage.afterGgufString(file, "blk.1.attn_q.weight") + 4 + 16;
        Damage.writeU32(file, at, 10);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "blk.1.attn_q.weight", "Q2_K (10)",
                "supported: F32, F16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, BF16");
        // A readable type whose super-blocks do not fit the row.
        Damage.writeU32(file, at, 12);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "blk.1.attn_q.weight", "Q4_K", "multiple of 256");
        Damage.writeU32(file, at, 5000);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "blk.1.attn_q.weight", "5000");
    }

    @Test
    void offsetsPastTheEndOrMisaligned() throws IOException {
        long at = Damage.afterGgufString(file, "blk.2.ffn_down.weight") + 4 + 16 + 4;
        long good = Damage.readU64(file, at);
        Damage.writeU64(file, at, FILE_SIZE);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.2.ffn_down.weight", "past the end");
        Damage.writeU64(file, at, Long.MAX_VALUE - 31);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.2.ffn_down.weight");
        Damage.writeU64(file, at, good + 4);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.2.ffn_down.weight", "alignment");
    }

    @Test
    void badDimensions() throws IOException {
        long at = Damage.afterGgufString(file, "blk.0.attn_k.weight");
        Damage.writeU32(file, at, 9);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.0.attn_k.weight", "9 dimensions");
        Damage.writeU32(file, at, 2);
        Damage.writeU64(file, at + 4, -64);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.0.attn_k.weight", "negative");
        Damage.writeU64(file, at + 4, 1L << 40);
        Damage.writeU64(file, at + 12, 1L << 40);
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.0.attn_k.weight");
    }

    @Test
    void nonsenseMetadataValuesNameTheKey() throws IOException {
        byte[] good = Files.readAllBytes(file);
        String[][] cases = {
                {"gemma2.attention.layer_norm_rms_epsilon", "-1"}, {"gemma2.attention.layer_norm_rms_epsilon", "0"},
                {"gemma2.attn_logit_softcapping", "-50"}, {"gemma2.final_logit_softcapping", "-30"},
                {"gemma2.final_logit_softcapping", "NaN"}};
        for (String[] c : cases) {
            Files.write(file, good);
            // FLOAT32 keys: the u32 value type, then the value.
            Damage.writeU32(file, Damage.afterGgufString(file, c[0]) + 4, Float.floatToRawIntBits(Float.parseFloat(c[1])));
            assertOneLineError(() -> Checkpoints.load(file), file.toString(), c[0], "expected");
        }
        Files.write(file, good);
        Damage.writeU32(file, Damage.afterGgufString(file, "gemma2.context_length") + 4, 0);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "gemma2.context_length", "positive");
    }

    /** The fixture has no rope.freq_base (llama.cpp's default applies), so build a file that has one. */
    @ParameterizedTest
    @ValueSource(floats = {0f, -10000f, Float.NaN, Float.POSITIVE_INFINITY})
    void nonsenseRopeBase(float base) throws IOException {
        Path p = new GgufBuilder().str("general.architecture", "gemma2")
                .u32("gemma2.embedding_length", 64).u32("gemma2.attention.head_count", 4).u32("gemma2.block_count", 4)
                .u32("gemma2.feed_forward_length", 128).f32("gemma2.attention.layer_norm_rms_epsilon", 1e-6f)
                .f32("gemma2.rope.freq_base", base).strings("tokenizer.ggml.tokens", "a", "b", "c", "d")
                .write(tmp.resolve("rope.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            assertOneLineError(() -> GgufCheckpoint.config(f), p.toString(), "gemma2.rope.freq_base", "positive");
        }
    }

    @Test
    void fewerBlocksInTheMetadataThanInTheFile() throws IOException {
        Damage.writeU32(file, Damage.afterGgufString(file, "gemma2.block_count") + 4, 2);
        assertOneLineError(() -> Checkpoints.load(file), file.toString(), "block_count is 2", "blk.2.* to blk.3.*");
    }

    @Test
    void overlappingTensorDataIsRefused() throws IOException {
        // Point blk.0.attn_v.weight at blk.0.attn_k.weight's data (same shape: an exact alias).
        long k = Damage.afterGgufString(file, "blk.0.attn_k.weight") + 4 + 16 + 4;
        long v = Damage.afterGgufString(file, "blk.0.attn_v.weight") + 4 + 16 + 4;
        Damage.writeU64(file, v, Damage.readU64(file, k));
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "blk.0.attn_k.weight", "blk.0.attn_v.weight", "overlaps");
    }

    @Test
    void badAlignment() throws IOException {
        // Turn general.file_type (u32 0) into general.alignment = 0 by renaming its key (same length).
        Damage.write(file, Damage.find(file, "general.file_type"), "general.alignmen0".getBytes());
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(32, f.alignment());
        }
        Damage.write(file, Damage.find(file, "general.alignmen0"), "general.alignment".getBytes());
        assertOneLineError(() -> GgufFile.open(file), file.toString(), "general.alignment", "power of two");
    }
}
