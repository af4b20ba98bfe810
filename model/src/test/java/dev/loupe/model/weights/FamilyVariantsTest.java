package dev.loupe.model.weights;

import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static dev.loupe.model.weights.Damage.assertOneLineError;
/**
 * The fixtures' Gemma 1 and Gemma 3 weights in sharded folders: the same float64 references hold. A Gemma 3 GGUF is
 * refused with one line. (A Gemma 1 GGUF written from them is the tools module's {@code GgufExportTest}: the exporter
 * lives there.)
 */
class FamilyVariantsTest {
    @TempDir Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g1a/hf-bf16", "tiny-g3/hf", "tiny-g3/hf-bf16"})
    void shardedFoldersMatchTheReferences(String folder) throws IOException {
        Path sharded = FixtureVariants.sharded(Fixtures.file(folder), tmp.resolve("sharded"), 64 * 1024);
        FixtureVariants.assertMatchesReferences(sharded, folder.substring(0, folder.indexOf('/')));
    }

    @Test
    void gemma3GgufIsRefusedWithOneLine() throws IOException {
        Path gguf = tmp.resolve("g3.gguf");
        new GgufBuilder().str("general.architecture", "gemma3").u32("gemma3.block_count", 1).write(gguf);
        assertOneLineError(() -> Checkpoints.load(gguf), gguf.toString(), "gemma3", "not supported");
    }
}
