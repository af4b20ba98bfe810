package dev.loupe.model.weights;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Fixtures;
import dev.loupe.model.ModelConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.loupe.model.weights.Damage.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Damaged copies of the tiny-a HF folder: safetensors, config.json and sharded index errors. */
class DamagedHfCheckpointTest {
    private static final String EMBED = "model.embed_tokens.weight";
    /** From the fixture's header (checked in {@link #fixtureLayoutIsAsAssumed}). */
    private static final long HEADER_LEN = 4800, FILE_SIZE = 697288;

    @TempDir Path tmp;
    Path folder, file, config;

    @BeforeEach
    void copy() throws IOException {
        folder = Damage.copyFolder(Fixtures.file("tiny-a/hf"), tmp.resolve("hf"));
        file = folder.resolve("model.safetensors");
        config = folder.resolve("config.json");
    }

    @Test
    void fixtureLayoutIsAsAssumed() throws IOException {
        assertEquals(HEADER_LEN, Damage.readU64(file, 0));
        assertEquals(FILE_SIZE, Files.size(file));
        try (ModelWeights w = Checkpoints.load(folder)) {
            assertEquals(64, w.config().hiddenSize());
        }
    }

    // ---- safetensors ------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(longs = {0, 4, 7, 8, 9, 100, HEADER_LEN / 2, HEADER_LEN + 7, HEADER_LEN + 8, HEADER_LEN + 8 + 50_000, FILE_SIZE - 1})
    void truncatedSafetensors(long size) throws IOException {
        Damage.truncate(file, size);
        assertOneLineError(() -> Checkpoints.load(folder), file.toString());
        assertOneLineError(() -> SafetensorsFile.open(file), file.toString());
    }

    @Test
    void truncatedDataNamesTheFirstTensorThatNoLongerFits() throws IOException {
        // The embedding is the first 384*64*4 bytes of data; cut inside it.
        Damage.truncate(file, 8 + HEADER_LEN + 1000);
        assertOneLineError(() -> SafetensorsFile.open(file), file.toString(), EMBED, "data_offsets");
    }

    @Test
    void hugeHeaderLength() throws IOException {
        Damage.writeU64(file, 0, -1L);
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), "header length");
        Damage.writeU64(file, 0, FILE_SIZE);
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), "header length");
    }

    @Test
    void headerLengthCuttingTheJson() throws IOException {
        Damage.writeU64(file, 0, HEADER_LEN - 100);
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), "JSON");
    }

    @Test
    void corruptJson() throws IOException {
        Damage.write(file, 8, "X".getBytes());
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), "not valid JSON");
        Damage.write(file, 8, "[".getBytes());
        assertOneLineError(() -> Checkpoints.load(folder), file.toString());
    }

    @Test
    void headerThatIsNotAnObject() throws IOException {
        byte[] text = "[1, 2, 3]".getBytes();
        byte[] padded = new byte[16];
        java.util.Arrays.fill(padded, (byte) ' ');
        System.arraycopy(text, 0, padded, 0, text.length);
        Files.write(file, new byte[0]);
        Damage.writeU64(file, 0, 16);
        Damage.write(file, 8, padded);
        assertOneLineError(() -> SafetensorsFile.open(file), file.toString(), "not a JSON object");
    }

    @Test
    void unsupportedDtypeWithTheSameWidth() throws IOException {
        String name = "model.layers.1.mlp.up_proj.weight";
        Damage.rewriteSafetensorsHeader(file, h -> ((ObjectNode) h.get(name)).put("dtype", "I32"));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), name, "I32");
    }

    @Test
    void dtypeInconsistentWithTheByteCount() throws IOException {
        String name = "model.layers.2.self_attn.k_proj.weight";
        Damage.rewriteSafetensorsHeader(file, h -> ((ObjectNode) h.get(name)).put("dtype", "F64"));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), name, "F64");
    }

    @Test
    void unknownDtype() throws IOException {
        String name = "model.norm.weight";
        Damage.rewriteSafetensorsHeader(file, h -> ((ObjectNode) h.get(name)).put("dtype", "Q4_K"));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), name, "Q4_K");
    }

    @Test
    void missingTensor() throws IOException {
        String name = "model.layers.3.mlp.down_proj.weight";
        Damage.rewriteSafetensorsHeader(file, h -> h.set("renamed", h.remove(name)));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), name, "missing");
    }

    @Test
    void shapeMismatchAgainstTheConfig() throws IOException {
        String name = "model.layers.0.self_attn.q_proj.weight";
        // Same byte count, wrong shape.
        Damage.rewriteSafetensorsHeader(file, h -> ((ObjectNode) h.get(name)).putArray("shape").add(32).add(128));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), name, "[32, 128]", "expected [64, 64]");
    }

    @Test
    void configDisagreeingWithTheTensors() throws IOException {
        Damage.rewriteJson(config, c -> c.put("intermediate_size", 256));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), "model.layers.0.mlp.gate_proj.weight",
                "[128, 64]", "expected [256, 64]");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        String name = "model.norm.weight";
        Damage.rewriteSafetensorsHeader(file, h -> {
            long end = h.get(name).get("data_offsets").get(1).longValue();
            ((ObjectNode) h.get(name)).putArray("data_offsets").add(end + 1024).add(end + 1024 + 256);
        });
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), name, "data_offsets");
    }

    @Test
    void negativeOffsetsAndBadShapes() throws IOException {
        Path copy = Damage.copyFile(file, tmp.resolve("copy.safetensors"));
        Damage.rewriteSafetensorsHeader(file, h -> ((ObjectNode) h.get(EMBED)).putArray("data_offsets").add(-8).add(98296));
        assertOneLineError(() -> SafetensorsFile.open(file), file.toString(), EMBED);
        Damage.rewriteSafetensorsHeader(copy, h -> ((ObjectNode) h.get(EMBED)).putArray("shape").add("a").add(64));
        assertOneLineError(() -> SafetensorsFile.open(copy), copy.toString(), EMBED, "shape");
    }

    @Test
    void metadataMustBeStrings() throws IOException {
        Damage.rewriteSafetensorsHeader(file, h -> h.putObject("__metadata__").put("format", 3));
        assertOneLineError(() -> SafetensorsFile.open(file), file.toString(), "__metadata__");
    }

    // ---- config.json ------------------------------------------------------------------------------------

    @Test
    void missingConfig() throws IOException {
        Files.delete(config);
        assertOneLineError(() -> Checkpoints.load(folder), folder.toString(), "config.json");
        assertOneLineError(() -> HfCheckpoint.load(folder), folder.toString(), "config.json");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 50, 500})
    void truncatedConfig(int size) throws IOException {
        Damage.truncate(config, size);
        assertOneLineError(() -> Checkpoints.load(folder), config.toString());
    }

    @Test
    void wrongModelType() throws IOException {
        Damage.rewriteJson(config, c -> c.put("model_type", "llama"));
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "model_type", "llama", "gemma2");
        Damage.rewriteJson(config, c -> c.remove("model_type"));
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "model_type", "missing");
    }

    @Test
    void wrongFieldType() throws IOException {
        Damage.rewriteJson(config, c -> c.put("hidden_size", "big"));
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "hidden_size", "integer");
        Damage.rewriteJson(config, c -> c.put("hidden_size", 64.5));
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "hidden_size");
        Damage.rewriteJson(config, c -> c.put("hidden_size", 64).put("rope_theta", "fast"));
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "rope_theta", "number");
    }

    @Test
    void invalidValuesNameTheConfigFile() throws IOException {
        Damage.rewriteJson(config, c -> c.put("num_key_value_heads", 3));
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "num_key_value_heads");
    }

    /** Values that used to run silently into all-NaN logits (or quietly drop softcapping, or fail later unnamed). */
    @ParameterizedTest
    @ValueSource(strings = {"rms_norm_eps=-1", "rms_norm_eps=0", "rope_theta=0", "rope_theta=-10000", "rope_theta=1e999",
            "attn_logit_softcapping=-50", "final_logit_softcapping=-30", "max_position_embeddings=0", "query_pre_attn_scalar=1e999",
            "bos_token_id=-1", "eos_token_id=384"})
    void nonsenseValuesNameTheFileFieldAndExpectation(String assignment) throws IOException {
        String field = assignment.substring(0, assignment.indexOf('='));
        String value = assignment.substring(assignment.indexOf('=') + 1);
        Files.writeString(config, Files.readString(config).replaceFirst("\"" + field + "\":\\s*[^,}\\s]+", "\"" + field + "\": " + value));
        assertTrue(Files.readString(config).contains("\"" + field + "\": " + value), "field present in the fixture");
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), field, "expected");
    }

    @Test
    void fewerLayersInTheConfigThanInTheWeights() throws IOException {
        // layer_types (written by transformers 5) must list num_hidden_layers entries: shorten it with the count.
        Damage.rewriteJson(config, c -> {
            c.put("num_hidden_layers", 2);
            if (c.has("layer_types")) ((com.fasterxml.jackson.databind.node.ArrayNode) c.get("layer_types")).remove(3);
            if (c.has("layer_types")) ((com.fasterxml.jackson.databind.node.ArrayNode) c.get("layer_types")).remove(2);
        });
        assertOneLineError(() -> Checkpoints.load(folder), config.toString(), "num_hidden_layers is 2", file.toString(),
                "model.layers.2.* to model.layers.3.*");
    }

    @Test
    void overlappingOrAliasedTensorDataIsRefused() throws IOException {
        Path copy = Damage.copyFile(file, tmp.resolve("copy.safetensors"));
        // Two norm vectors of 64 floats: point the second at the first's bytes.
        String a = "model.layers.0.input_layernorm.weight", b = "model.layers.0.post_attention_layernorm.weight";
        Damage.rewriteSafetensorsHeader(file, h -> ((ObjectNode) h.get(b)).set("data_offsets", h.get(a).get("data_offsets").deepCopy()));
        assertOneLineError(() -> Checkpoints.load(folder), file.toString(), a, b, "overlap");
        // Shifted by half a tensor: a partial overlap.
        Damage.rewriteSafetensorsHeader(copy, h -> {
            long begin = h.get(a).get("data_offsets").get(0).longValue() + 128;
            ((ObjectNode) h.get(b)).putArray("data_offsets").add(begin).add(begin + 256);
        });
        assertOneLineError(() -> SafetensorsFile.open(copy), copy.toString(), b, "overlap");
    }

    @Test
    void extraKeysListEosAndNullSoftcapsAreAccepted() throws IOException {
        Damage.rewriteJson(config, c -> {
            c.putObject("rope_scaling_future_field").put("x", 1);
            c.putArray("eos_token_id").add(1).add(107);
            c.putNull("attn_logit_softcapping");
        });
        try (ModelWeights w = Checkpoints.load(folder)) {
            assertEquals(1, w.config().eosId());
            assertEquals(0f, w.config().attnSoftcap());
            assertEquals(30f, w.config().finalSoftcap());
        }
    }

    /**
     * An absent field takes transformers' ModelConfig default, which is the 2B model (DESIGN.md table); the RoPE base
     * is the exception: transformers 5 writes it only in rope_parameters, so a config with neither is refused.
     */
    @Test
    void absentFieldsTakeTransformersDefaults() throws IOException {
        Files.writeString(config, "{\"model_type\": \"gemma2\"}");
        assertOneLineError(() -> HfConfig.read(config), config.toString(), "neither rope_theta nor rope_parameters");
        Files.writeString(config, "{\"model_type\": \"gemma2\", \"rope_theta\": 10000}");
        ModelConfig c = HfConfig.read(config);
        assertEquals(256000, c.vocabSize());
        assertEquals(2304, c.hiddenSize());
        assertEquals(9216, c.intermediateSize());
        assertEquals(26, c.numLayers());
        assertEquals(8, c.numHeads());
        assertEquals(4, c.numKvHeads());
        assertEquals(256, c.headDim());
        assertEquals(256f, c.queryPreAttnScalar());
        assertEquals(10000f, c.ropeTheta());
        assertEquals(1e-6f, c.rmsNormEps());
        assertEquals(4096, c.slidingWindow());
        assertEquals(50f, c.attnSoftcap());
        assertEquals(30f, c.finalSoftcap());
        assertEquals(8192, c.maxPositions());
        assertEquals(2, c.bosId());
        assertEquals(1, c.eosId());
        assertEquals(48f, c.embeddingScale());
    }

    /**
     * Loupe computes in float32, so the factor is float32 sqrt(hidden) even for a bf16 checkpoint: HF in bf16 would
     * use 59.75 for sqrt(3584) = 59.8665 (8-bit mantissa, step 0.25 in [32, 64)), which moved logits by 4.6.
     */
    @Test
    void embeddingScaleIsFloat32WhateverTheStoredDtype() throws IOException {
        Files.writeString(config, "{\"model_type\": \"gemma2\", \"hidden_size\": 3584, \"torch_dtype\": \"bfloat16\", \"rope_theta\": 10000}");
        assertEquals(59.8665181f, HfConfig.read(config).embeddingScale(), 1e-5f);
    }

    // ---- sharded ----------------------------------------------------------------------------------------

    /** Splits the fixture into two shards plus an index, as save_pretrained lays them out. */
    private Path shard() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(config, out.resolve("config.json"));
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (SafetensorsFile src = SafetensorsFile.open(file)) {
            List<String> names = new ArrayList<>(src.names());
            int half = names.size() / 2;
            for (int s = 0; s < 2; s++) {
                String shardName = "model-0000" + (s + 1) + "-of-00002.safetensors";
                List<SafetensorsWriter.Tensor> ts = new ArrayList<>();
                for (String n : s == 0 ? names.subList(0, half) : names.subList(half, names.size())) {
                    var t = src.tensor(n);
                    ts.add(SafetensorsWriter.Tensor.ofBytes(n, t.dtype(), t.shape(), t.data()));
                    weightMap.put(n, shardName);
                }
                SafetensorsWriter.write(out.resolve(shardName), Map.of("format", "pt"), ts, 1);
            }
        }
        ObjectNode index = Damage.JSON.createObjectNode();
        index.putObject("metadata").put("total_size", Files.size(file) - 8 - HEADER_LEN);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Files.write(out.resolve(SafetensorsShards.INDEX), Damage.JSON.writeValueAsBytes(index));
        return out;
    }

    @Test
    void shardedCopyLoadsTheSameWeights() throws IOException {
        Path sharded = shard();
        try (ModelWeights a = Checkpoints.load(folder); ModelWeights b = Checkpoints.load(sharded)) {
            assertEquals(a.config(), b.config());
            FixtureCheckpointsTest.assertSameValues(a.embedding(), b.embedding());
            for (int l = 0; l < 4; l++) {
                FixtureCheckpointsTest.assertSameValues(a.layers().get(l).down(), b.layers().get(l).down());
                org.junit.jupiter.api.Assertions.assertArrayEquals(a.layers().get(l).inputNorm(), b.layers().get(l).inputNorm());
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(a.finalNorm(), b.finalNorm());
        }
    }

    @Test
    void damagedIndex() throws IOException {
        Path sharded = shard();
        Path index = sharded.resolve(SafetensorsShards.INDEX);
        byte[] good = Files.readAllBytes(index);

        Damage.truncate(index, 40);
        assertOneLineError(() -> Checkpoints.load(sharded), index.toString(), "JSON");

        Files.write(index, good);
        Damage.rewriteJson(index, j -> j.remove("weight_map"));
        assertOneLineError(() -> Checkpoints.load(sharded), index.toString(), "weight_map");

        Files.write(index, good);
        Damage.rewriteJson(index, j -> ((ObjectNode) j.get("weight_map")).put(EMBED, "../elsewhere.safetensors"));
        assertOneLineError(() -> Checkpoints.load(sharded), index.toString(), EMBED);

        Files.write(index, good);
        Damage.rewriteJson(index, j -> ((ObjectNode) j.get("weight_map")).put(EMBED, "model-00009-of-00002.safetensors"));
        assertOneLineError(() -> Checkpoints.load(sharded), index.toString(), "model-00009-of-00002.safetensors", "does not exist");

        Files.write(index, good);
        Damage.rewriteJson(index, j -> ((ObjectNode) j.get("weight_map")).put("model.norm.weight", "model-00001-of-00002.safetensors"));
        assertOneLineError(() -> Checkpoints.load(sharded), "model-00001-of-00002.safetensors", "model.norm.weight", "missing");

        Files.write(index, good);
        Damage.rewriteJson(index, j -> ((ObjectNode) j.get("weight_map")).remove("model.layers.2.mlp.up_proj.weight"));
        assertOneLineError(() -> Checkpoints.load(sharded), index.toString(), "model.layers.2.mlp.up_proj.weight", "missing");
    }

    @Test
    void truncatedShard() throws IOException {
        Path sharded = shard();
        Path second = sharded.resolve("model-00002-of-00002.safetensors");
        Damage.truncate(second, Files.size(second) - 10);
        assertOneLineError(() -> Checkpoints.load(sharded), second.toString(), "data_offsets");
    }

    @Test
    void folderWithoutWeights() throws IOException {
        Files.delete(file);
        assertOneLineError(() -> Checkpoints.load(folder), folder.toString(), "model.safetensors");
    }

    @Test
    void notACheckpoint() throws IOException {
        Path txt = Files.writeString(tmp.resolve("weights.bin"), "hello");
        assertOneLineError(() -> Checkpoints.load(txt), txt.toString());
        assertOneLineError(() -> Checkpoints.load(tmp.resolve("absent")), "absent", "does not exist");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertOneLineError(() -> Checkpoints.load(empty), empty.toString(), "config.json");
    }
}
