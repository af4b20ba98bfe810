package dev.loupe.tools.model;

import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.GemmaModel;
import dev.loupe.model.Fixtures;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.gemma1.Gemma1;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.weights.Checkpoints;
import dev.loupe.model.weights.FixtureVariants;
import dev.loupe.model.weights.GgufCheckpoint;
import dev.loupe.model.weights.HfCheckpoint;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link GgufExport}: its files load as the weights they came from, for Gemma 2 and Gemma 1, with llama.cpp's keys. */
class GgufExportTest {
    @TempDir Path tmp;

    /** The folder and the GGUF written from it are one model: identical logits, bit for bit. */
    @Test
    void theGgufRunsLikeTheFolderItCameFrom() throws Exception {
        Path folder = tmp.resolve("hf"), gguf = tmp.resolve("tiny.gguf");
        SyntheticCheckpoint.write(ModelConfig.shape("tiny"), DType.BF16, folder, 3, 1);
        try (ModelWeights w = Checkpoints.load(folder)) {
            GgufExport.write(w, gguf);
        }
        assertFalse(Files.exists(tmp.resolve("tiny.gguf.partial")));
        int[] tokens = {2, 17, 300, 5, 383};
        float[] fromFolder, fromGguf;
        try (GemmaModel m = GemmaModel.load(folder, 1)) {
            fromFolder = m.newSession().process(tokens, BoundHooks.none(m.hookPoints()), -1, tokens.length);
        }
        try (GemmaModel m = GemmaModel.load(gguf, 1)) {
            fromGguf = m.newSession().process(tokens, BoundHooks.none(m.hookPoints()), -1, tokens.length);
        }
        assertArrayEquals(fromFolder, fromGguf);
    }

    /** What llama.cpp needs to load it: gemma2 keys, ggml dims innermost first, F32 norms, unique pieces. */
    @Test
    void writesTheKeysAndLayoutLlamaCppReads() throws Exception {
        Path folder = tmp.resolve("hf"), gguf = tmp.resolve("tiny.gguf");
        ModelConfig c = ModelConfig.shape("tiny");
        SyntheticCheckpoint.write(c, DType.BF16, folder, 3, 1);
        try (ModelWeights w = Checkpoints.load(folder)) {
            GgufExport.write(w, gguf);
        }
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals("gemma2", f.getString("general.architecture"));
            assertEquals(64, f.getInt("gemma2.embedding_length"));
            assertEquals(16, f.getInt("gemma2.attention.key_length"));
            assertEquals(2, f.getInt("gemma2.attention.head_count_kv"));
            assertEquals(4, f.getInt("gemma2.block_count"));
            assertEquals(50f, f.getFloat("gemma2.attn_logit_softcapping"));
            assertArrayEquals(new long[]{384, 64}, f.tensorInfo("token_embd.weight").shape());
            assertEquals(30, f.tensorInfo("blk.0.ffn_down.weight").ggmlType());
            assertEquals(0, f.tensorInfo("blk.0.attn_norm.weight").ggmlType());
            List<String> pieces = f.getStringArray("tokenizer.ggml.tokens");
            assertEquals(384, pieces.size());
            assertEquals(384, new HashSet<>(pieces).size());
            assertEquals("<bos>", pieces.get(2));
            assertEquals("<0x0A>", pieces.get(4 + 10));
            assertEquals(6, f.getIntArray("tokenizer.ggml.token_type")[4 + 10]);
            assertEquals(2, f.getInt("tokenizer.ggml.bos_token_id"));
            assertTrue(f.tensorInfo("blk.0.attn_q.weight").offset() % 32 == 0);
        }
    }

    /** The fixture's Gemma 1 weights written as a GGUF: gemma keys and tensors, and the same float64 references hold. */
    @ParameterizedTest
    @ValueSource(strings = {"hf", "hf-bf16"})
    void gemma1GgufMatchesTheReferences(String folder) throws Exception {
        Path gguf = tmp.resolve("g1.gguf");
        try (ModelWeights w = HfCheckpoint.load(Fixtures.file("tiny-g1a").resolve(folder))) {
            GgufExport.write(w, gguf);
        }
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals("gemma", f.getString("general.architecture"));
            assertTrue(f.hasTensor("blk.0.ffn_norm.weight") && !f.hasTensor("blk.0.post_attention_norm.weight"));
            assertEquals(Gemma1.ARCHITECTURE, GgufCheckpoint.config(f).architecture());
        }
        FixtureVariants.assertMatchesReferences(gguf, "tiny-g1a");
    }
}
