package dev.loupe.model.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyWriteTest {
    @TempDir Path dir;

    @Test void aFolderOrAnUnwritableTargetLeavesNoPartialFile() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("out.npy"));
        Files.writeString(folder.resolve("keep"), "x");
        IOException e = assertThrows(IOException.class, () -> Npy.writeFloats(folder, new float[]{1, 2}, 2));
        assertTrue(e.getMessage().contains("is a folder"), e.getMessage());
        assertThrows(IOException.class, () -> Npy.writeFloats(Path.of(""), new float[]{1}, 1));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.toString().endsWith(".partial")).toList());
        }
        assertTrue(Files.exists(folder.resolve("keep")));
    }
}
