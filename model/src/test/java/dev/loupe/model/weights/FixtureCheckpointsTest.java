package dev.loupe.model.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiny-a fixture model read from HF F32, HF BF16 and GGUF F32 files must be the same model. */
class FixtureCheckpointsTest {
    // Looked up per test (not in static initializers), so a missing fixture fails with one line naming it.
    private final Path tiny = Fixtures.tinyA();
    private final Path hfF32 = Fixtures.file("tiny-a/hf");
    private final Path hfBf16 = Fixtures.file("tiny-a/hf-bf16");
    private final Path ggufF32 = Fixtures.file("tiny-a/tiny-a-f32.gguf");

    /** Linear weights of a layer, in LayerWeights order. */
    private static final List<Function<LayerWeights, WeightTensor>> LINEARS = List.of(
            LayerWeights::q, LayerWeights::k, LayerWeights::v, LayerWeights::o,
            LayerWeights::gate, LayerWeights::up, LayerWeights::down);
    private static final List<Function<LayerWeights, float[]>> NORMS = List.of(
            LayerWeights::inputNorm, LayerWeights::postAttentionNorm,
            LayerWeights::preFeedforwardNorm, LayerWeights::postFeedforwardNorm);
    private static final List<String> HF_NORM_NAMES = List.of(
            "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm");

    @Test
    void configsMatchTheManifestHyperparameters() throws IOException {
        JsonNode hp = new ObjectMapper().readTree(tiny.resolve("manifest.json").toFile()).get("hyperparameters");
        try (ModelWeights hf = Checkpoints.load(hfF32); ModelWeights bf = Checkpoints.load(hfBf16); ModelWeights gg = Checkpoints.load(ggufF32)) {
            for (ModelConfig c : List.of(hf.config(), bf.config(), gg.config())) {
                assertEquals(hp.get("vocab_size").intValue(), c.vocabSize());
                assertEquals(hp.get("hidden_size").intValue(), c.hiddenSize());
                assertEquals(hp.get("intermediate_size").intValue(), c.intermediateSize());
                assertEquals(hp.get("num_hidden_layers").intValue(), c.numLayers());
                assertEquals(hp.get("num_attention_heads").intValue(), c.numHeads());
                assertEquals(hp.get("num_key_value_heads").intValue(), c.numKvHeads());
                assertEquals(hp.get("head_dim").intValue(), c.headDim());
                // GGUF has no query_pre_attn_scalar: llama.cpp's rule (not 46 layers -> head_dim) gives 16 = head_dim.
                assertEquals(hp.get("query_pre_attn_scalar").floatValue(), c.queryPreAttnScalar());
                assertEquals(hp.get("rope_theta").floatValue(), c.ropeTheta());
                assertEquals((float) hp.get("rms_norm_eps").doubleValue(), c.rmsNormEps());
                assertEquals(hp.get("sliding_window").intValue(), c.slidingWindow());
                assertEquals(hp.get("attn_logit_softcapping").floatValue(), c.attnSoftcap());
                assertEquals(hp.get("final_logit_softcapping").floatValue(), c.finalSoftcap());
                assertEquals(hp.get("max_position_embeddings").intValue(), c.maxPositions());
                assertEquals(hp.get("bos_token_id").intValue(), c.bosId());
                assertEquals(hp.get("eos_token_id").intValue(), c.eosId());
                // sqrt(64) = 8 is exact in every dtype (manifest: "embedding * sqrt(64)", 8.000000).
                assertEquals(8f, c.embeddingScale());
            }
            assertEquals(hf.config(), bf.config());
            assertEquals(hf.config(), gg.config());
        }
    }

    @Test
    void storedTypesAreKept() throws IOException {
        try (ModelWeights hf = Checkpoints.load(hfF32); ModelWeights bf = Checkpoints.load(hfBf16); ModelWeights gg = Checkpoints.load(ggufF32)) {
            assertEquals(DType.F32, hf.embedding().dtype());
            assertEquals(DType.BF16, bf.embedding().dtype());
            assertEquals(DType.F32, gg.embedding().dtype());
            assertEquals(DType.BF16, bf.layers().get(2).down().dtype());
            assertEquals(4, hf.layers().size());
        }
    }

    @Test
    void f32AndBf16HoldBitIdenticalValues() throws IOException {
        try (ModelWeights a = Checkpoints.load(hfF32); ModelWeights b = Checkpoints.load(hfBf16)) {
            assertSameValues(a.embedding(), b.embedding());
            for (int l = 0; l < a.layers().size(); l++) {
                for (var f : LINEARS) assertSameValues(f.apply(a.layers().get(l)), f.apply(b.layers().get(l)));
                for (var n : NORMS) assertArrayEquals(n.apply(a.layers().get(l)), n.apply(b.layers().get(l)));
            }
            assertArrayEquals(a.finalNorm(), b.finalNorm());
        }
    }

    @Test
    void ggufMatchesHfWithNormsStoredAsOnePlusW() throws IOException {
        try (ModelWeights hf = Checkpoints.load(hfF32); ModelWeights gg = Checkpoints.load(ggufF32);
             SafetensorsFile raw = SafetensorsFile.open(hfF32.resolve("model.safetensors"))) {
            assertSameValues(hf.embedding(), gg.embedding());
            for (int l = 0; l < hf.layers().size(); l++) {
                LayerWeights h = hf.layers().get(l), g = gg.layers().get(l);
                for (var f : LINEARS) assertSameValues(f.apply(h), f.apply(g));
                for (int n = 0; n < NORMS.size(); n++) {
                    float[] w = raw.tensor("model.layers." + l + "." + HF_NORM_NAMES.get(n) + ".weight").toFloatArray();
                    assertArrayEquals(plusOne(w), NORMS.get(n).apply(g), "GGUF stores 1+w");
                    assertArrayEquals(plusOne(w), NORMS.get(n).apply(h), "HF loader adds 1 once");
                }
            }
            assertArrayEquals(plusOne(raw.tensor("model.norm.weight").toFloatArray()), gg.finalNorm());
            assertArrayEquals(gg.finalNorm(), hf.finalNorm());
        }
    }

    @Test
    void ggufVocabularyMatchesVocabJson() throws IOException {
        JsonNode vocab = new ObjectMapper().readTree(tiny.resolve("vocab.json").toFile());
        try (GgufFile f = Checkpoints.openGguf(ggufF32)) {
            assertEquals(3, f.version());
            assertEquals(32, f.alignment());
            assertEquals("gemma2", f.getString("general.architecture"));
            List<String> tokens = f.getStringArray("tokenizer.ggml.tokens");
            float[] scores = f.getFloatArray("tokenizer.ggml.scores");
            int[] types = f.getIntArray("tokenizer.ggml.token_type");
            assertEquals(vocab.get("tokens").size(), tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                assertEquals(vocab.get("tokens").get(i).textValue(), tokens.get(i));
                assertEquals(vocab.get("scores").get(i).floatValue(), scores[i]);
                assertEquals(vocab.get("token_types").get(i).intValue(), types[i]);
            }
            assertEquals(2, f.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(1, f.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(3, f.getInt("tokenizer.ggml.unknown_token_id"));
            assertTrue(f.getBool("tokenizer.ggml.add_bos_token"));
            assertEquals("llama", f.getString("tokenizer.ggml.model"));
            assertEquals(GgufFile.ValueType.FLOAT32, f.elementType("tokenizer.ggml.scores"));
            // ne = [64, 384] on disk is [384, 64] row-major.
            assertArrayEquals(new long[]{384, 64}, f.tensorInfo("token_embd.weight").shape());
        }
    }

    @Test
    void weightsLoadedFromAnOpenGgufShareItsMapping() throws IOException {
        GgufFile f = GgufFile.open(ggufF32);
        ModelWeights w = GgufCheckpoint.load(f);
        assertSame(f, w.resources());
        assertEquals(384, f.getStringArray("tokenizer.ggml.tokens").size());
        w.close();
        // Metadata lives on the heap and survives closing.
        assertEquals("tiny-a", f.getString("general.name"));
    }

    static float[] plusOne(float[] w) {
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = 1f + w[i];
        return out;
    }

    static void assertSameValues(WeightTensor a, WeightTensor b) {
        assertArrayEquals(a.shape(), b.shape(), a.name() + " vs " + b.name());
        for (long i = 0; i < a.numel(); i++) {
            if (Float.floatToRawIntBits(a.get(i)) != Float.floatToRawIntBits(b.get(i))) {
                throw new AssertionError(a.describe() + "[" + i + "] = " + a.get(i) + " but " + b.describe() + "[" + i + "] = " + b.get(i));
            }
        }
    }
}
