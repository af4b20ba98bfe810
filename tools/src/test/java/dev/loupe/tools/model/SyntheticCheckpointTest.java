package dev.loupe.tools.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.io.LoupeJson;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.Checkpoints;
import dev.loupe.model.weights.HfCheckpointWriter;
import dev.loupe.model.weights.LayerWeights;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.SafetensorsFile;
import dev.loupe.model.weights.SafetensorsShards;
import dev.loupe.model.weights.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticCheckpointTest {
    private static final ModelConfig TINY = ModelConfig.shape("tiny");

    @TempDir Path tmp;

    @Test
    void tinyRoundTripsThroughTheHfLoader() throws IOException {
        Path out = tmp.resolve("tiny");
        List<Path> files = SyntheticCheckpoint.write(TINY, DType.BF16, out, 7, 2);
        assertEquals(List.of(out.resolve("model.safetensors")), files);
        assertFalse(Files.exists(out.resolve(SafetensorsShards.INDEX)));
        try (ModelWeights w = Checkpoints.load(out)) {
            assertEquals(TINY, w.config());
            assertEquals(DType.BF16, w.embedding().dtype());
            assertArrayEquals(new long[]{384, 64}, w.embedding().shape());
            LayerWeights l3 = w.layers().get(3);
            assertArrayEquals(new long[]{64, 64}, l3.q().shape());
            assertArrayEquals(new long[]{32, 64}, l3.k().shape());
            assertArrayEquals(new long[]{64, 128}, l3.down().shape());
            // Linear weights: uniform on ±0.02·√3 (std 0.02), up to bf16 rounding (2^-8 relative).
            float bound = 0.02f * (float) Math.sqrt(3) * (1 + 0x1p-8f);
            float[] e = w.embedding().toFloatArray();
            double sum = 0, sq = 0;
            for (float v : e) {
                assertTrue(Math.abs(v) <= bound, "embedding value " + v);
                sum += v;
                sq += v * v;
            }
            double mean = sum / e.length, std = Math.sqrt(sq / e.length - mean * mean);
            // 24576 samples: the sample std of a uniform is within a few percent of 0.02, the mean within 3·0.02/√n.
            assertEquals(0.02, std, 0.001);
            assertEquals(0, mean, 3 * 0.02 / Math.sqrt(e.length));
            // Norm multipliers 1 + w with w uniform on ±0.1.
            for (float m : l3.preFeedforwardNorm()) assertTrue(m >= 0.899f && m <= 1.101f, "norm " + m);
            // bf16 has a few thousand values in ±0.1, so 64 draws collide a little, but never mostly.
            assertTrue(new HashSet<>(boxed(w.finalNorm())).size() >= 48, "norm values are random");
        }
        JsonNode cfg = LoupeJson.MAPPER.readTree(out.resolve("config.json").toFile());
        assertEquals("bfloat16", cfg.get("torch_dtype").textValue());
        assertEquals(16, cfg.get("query_pre_attn_scalar").intValue());
        assertEquals(1e-6, cfg.get("rms_norm_eps").doubleValue());
        assertEquals(7, cfg.get("loupe_synthetic_seed").longValue());
        assertFalse(Files.exists(out.resolve("model.safetensors.partial")));
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes() throws IOException {
        SyntheticCheckpoint.write(TINY, DType.BF16, tmp.resolve("a"), 42, 1);
        SyntheticCheckpoint.write(TINY, DType.BF16, tmp.resolve("b"), 42, 3);
        SyntheticCheckpoint.write(TINY, DType.BF16, tmp.resolve("c"), 43, 2);
        byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertFalse(java.util.Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
    }

    @Test
    void bf16IsTheF32ModelRounded() throws IOException {
        SyntheticCheckpoint.write(TINY, DType.F32, tmp.resolve("f32"), 5, 2);
        SyntheticCheckpoint.write(TINY, DType.BF16, tmp.resolve("bf16"), 5, 2);
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("f32/model.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(tmp.resolve("bf16/model.safetensors"))) {
            assertEquals(f.names(), b.names());
            for (String name : f.names()) {
                WeightTensor x = f.tensor(name), y = b.tensor(name);
                assertEquals(DType.F32, x.dtype());
                for (long i = 0; i < x.numel(); i++) {
                    assertEquals(Floats.bf16ToFloat(Floats.floatToBf16(x.get(i))), y.get(i), name + "[" + i + "]");
                }
            }
        }
    }

    /** A chunk's values depend only on element indices, so any split of the work gives the same bytes. */
    @Test
    void valuesDoNotDependOnChunking() {
        SafetensorsWriter.Tensor t = SyntheticCheckpoint.tensors(TINY, DType.BF16, 9).getFirst();
        long size = t.byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment whole = arena.allocate(size), parts = arena.allocate(size);
            t.content().fill(0, whole);
            long cut = 2 * 12_345; // bytes before odd element 12345: splits a 64-bit random word between chunks
            t.content().fill(0, parts.asSlice(0, cut));
            t.content().fill(cut, parts.asSlice(cut, size - cut));
            assertEquals(-1, whole.mismatch(parts));
        }
    }

    @Test
    void shardsLikeSavePretrainedAndReplacesStaleFiles() throws IOException {
        Path out = tmp.resolve("sharded");
        SyntheticCheckpoint.write(TINY, DType.F32, out, 1, 2);
        List<Path> shards = SyntheticCheckpoint.write(TINY, DType.F32, out, 1, 2, 200_000);
        assertTrue(shards.size() > 1, "expected several shards, got " + shards);
        assertEquals("model-00001-of-0000" + shards.size() + ".safetensors", shards.getFirst().getFileName().toString());
        assertFalse(Files.exists(out.resolve("model.safetensors")), "stale single file removed");
        JsonNode index = LoupeJson.MAPPER.readTree(out.resolve(SafetensorsShards.INDEX).toFile());
        long total = 0;
        Set<String> names = new HashSet<>();
        for (Path s : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(s)) {
                assertTrue(Files.size(s) <= 200_000 + 8 + 8192, s + " exceeds the shard size");
                for (String n : f.names()) {
                    names.add(n);
                    total += f.tensor(n).data().byteSize();
                    assertEquals(s.getFileName().toString(), index.get("weight_map").get(n).textValue());
                }
            }
        }
        assertEquals(total, index.get("metadata").get("total_size").longValue());
        assertEquals(names.size(), index.get("weight_map").size());
        // 1 embedding + 4 layers x (7 linear + 4 norms) + final norm.
        assertEquals(1 + 4 * 11 + 1, names.size());

        SyntheticCheckpoint.write(TINY, DType.F32, tmp.resolve("single"), 1, 2);
        try (ModelWeights a = Checkpoints.load(out); ModelWeights b = Checkpoints.load(tmp.resolve("single"))) {
            assertArrayEquals(a.embedding().toFloatArray(), b.embedding().toFloatArray());
            assertArrayEquals(a.layers().get(3).down().toFloatArray(), b.layers().get(3).down().toFloatArray());
        }

        SyntheticCheckpoint.write(TINY, DType.F32, out, 1, 2);
        assertFalse(Files.exists(out.resolve(SafetensorsShards.INDEX)), "stale index removed");
        assertFalse(Files.exists(shards.getFirst()), "stale shard removed");
    }

    /**
     * Gemma 2 2B has 2,614,341,888 parameters (256000·2304 embedding + 26 layers of
     * 2304·(2048 + 1024 + 1024) + 2048·2304 + 3·9216·2304 + 4·2304, + 2304 final norm): 5.23 GB in bf16,
     * which save_pretrained's 5 GB limit splits in two.
     */
    @Test
    void gemma2bPlanIsTwoShardsOfTheRightSize() {
        var tensors = SyntheticCheckpoint.tensors(ModelConfig.shape("gemma-2-2b"), DType.BF16, 0);
        long params = 256000L * 2304 + 26L * (2304L * (2048 + 1024 + 1024) + 2048L * 2304 + 3L * 9216 * 2304 + 4 * 2304) + 2304;
        assertEquals(2_614_341_888L, params);
        assertEquals(2 * params, tensors.stream().mapToLong(SafetensorsWriter.Tensor::byteSize).sum());
        var shards = HfCheckpointWriter.shard(tensors, HfCheckpointWriter.MAX_SHARD_BYTES);
        assertEquals(2, shards.size());
        for (var s : shards) assertTrue(s.stream().mapToLong(SafetensorsWriter.Tensor::byteSize).sum() <= 5_000_000_000L);
    }

    private static List<Float> boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return List.of(b);
    }
}
