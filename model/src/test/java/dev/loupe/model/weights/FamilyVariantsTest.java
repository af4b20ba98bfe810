package dev.loupe.model.weights;

import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.arch.gemma1.Gemma1;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static dev.loupe.model.weights.Damage.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fixtures' Gemma 1 and Gemma 3 weights in the other forms Loupe reads (sharded folders, a Gemma 1 GGUF file written
 * from them): the same float64 references hold. A Gemma 3 GGUF is refused with one line.
 */
class FamilyVariantsTest {
    @TempDir Path tmp;

    private static void assertMatches(Path model, String fixture) {
        Path refs = Fixtures.file(fixture);
        try (Model m = Model.load(model, 1)) {
            RunResult r = m.run(Fixtures.npy(refs.resolve("tokens.npy")).ints(), RunOptions.caching("blocks.*.hook_resid_post"));
            float worst = maxDiff(Fixtures.npy(refs.resolve("logits.npy")), r.logits());
            Npy.Array resid = Fixtures.npy(refs.resolve("resid_post.npy"));
            int per = resid.shape()[1] * resid.shape()[2];
            for (int l = 0; l < resid.shape()[0]; l++) {
                float[] got = r.cache().get("blocks." + l + ".hook_resid_post").data();
                for (int i = 0; i < per; i++) worst = Math.max(worst, Math.abs(resid.data()[l * per + i] - got[i]));
            }
            assertTrue(worst <= 5e-3f, model + ": max abs diff " + worst);
        }
    }

    private static float maxDiff(Npy.Array ref, float[] got) {
        float worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(ref.data()[i] - got[i]));
        return worst;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g1a/hf-bf16", "tiny-g3/hf", "tiny-g3/hf-bf16"})
    void shardedFoldersMatchTheReferences(String folder) throws IOException {
        Path sharded = FixtureVariants.sharded(Fixtures.file(folder), tmp.resolve("sharded"), 64 * 1024);
        assertMatches(sharded, folder.substring(0, folder.indexOf('/')));
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "hf-bf16"})
    void gemma1GgufMatchesTheReferences(String folder) throws IOException {
        Path gguf = FixtureVariants.gguf(Fixtures.file("tiny-g1a").resolve(folder), tmp.resolve("g1.gguf"));
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals("gemma", f.getString("general.architecture"));
            assertTrue(f.hasTensor("blk.0.ffn_norm.weight") && !f.hasTensor("blk.0.post_attention_norm.weight"));
            assertEquals(Gemma1.ARCHITECTURE, GgufCheckpoint.config(f).architecture());
        }
        assertMatches(gguf, "tiny-g1a");
    }

    @Test
    void gemma3GgufIsRefusedWithOneLine() throws IOException {
        Path gguf = tmp.resolve("g3.gguf");
        new GgufBuilder().str("general.architecture", "gemma3").u32("gemma3.block_count", 1).write(gguf);
        assertOneLineError(() -> Checkpoints.load(gguf), gguf.toString(), "gemma3", "not supported");
    }
}
