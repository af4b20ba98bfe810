package dev.loupe.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A weight file truncated while the model holds it mapped: the JVM turns the page fault into an InternalError
 * ("a fault occurred in an unsafe memory access operation"), here from a compiled matmul kernel (the rows
 * of the embedding used lie before the cut). The session reports it naming the file.
 */
class TruncatedWhileRunningTest {
    @TempDir Path dir;

    @Test void aCheckpointTruncatedUnderARunNamesTheFile() throws Exception {
        Path copy = dir.resolve("m.gguf");
        Files.copy(Fixtures.file("tiny-a/tiny-a-f32.gguf"), copy);
        try (GemmaModel m = GemmaModel.load(copy, 1)) {
            m.run(new int[]{2, 5, 9}, RunOptions.defaults());
            try (RandomAccessFile raf = new RandomAccessFile(copy.toFile(), "rw")) {
                raf.setLength(20000);
            }
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> m.run(new int[]{2, 5, 9}, RunOptions.defaults()));
            assertTrue(e.getMessage().startsWith(copy + " (or another weight file of this model) was truncated"), e.getMessage());
        }
    }
}
