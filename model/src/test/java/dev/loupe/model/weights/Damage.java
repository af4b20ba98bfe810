package dev.loupe.model.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Makes damaged copies of fixture files and checks the errors they cause. */
final class Damage {
    private Damage() {}

    static final ObjectMapper JSON = new ObjectMapper();

    /** Copies a folder's regular files (writable copies: fixtures are read-only). */
    static Path copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Path dst = to.resolve(p.getFileName().toString());
                Files.copy(p, dst, StandardCopyOption.REPLACE_EXISTING);
                dst.toFile().setWritable(true);
            }
        }
        return to;
    }

    static Path copyFile(Path from, Path to) throws IOException {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        to.toFile().setWritable(true);
        return to;
    }

    static void truncate(Path file, long size) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
    }

    static void write(Path file, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            raf.write(bytes);
        }
    }

    static void writeU32(Path file, long offset, int v) throws IOException {
        write(file, offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    static void writeU64(Path file, long offset, long v) throws IOException {
        write(file, offset, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    static long readU64(Path file, long offset) throws IOException {
        byte[] b = Arrays.copyOfRange(Files.readAllBytes(file), (int) offset, (int) offset + 8);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Offset of the only occurrence of {@code text} in the file. */
    static long find(Path file, String text) throws IOException {
        byte[] hay = Files.readAllBytes(file), needle = text.getBytes(StandardCharsets.UTF_8);
        long found = -1;
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            if (found >= 0) fail(text + " occurs more than once in " + file);
            found = i;
        }
        if (found < 0) fail(text + " not found in " + file);
        return found;
    }

    /**
     * Position just after a GGUF string (u64 length + bytes) equal to {@code text}: for a metadata key that is
     * its value type; for a tensor name, its dimension count.
     */
    static long afterGgufString(Path file, String text) throws IOException {
        return find(file, text) + text.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Rewrites a safetensors header through {@code edit}, keeping the data region. */
    static void rewriteSafetensorsHeader(Path file, Consumer<ObjectNode> edit) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = (ObjectNode) JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
        edit.accept(header);
        byte[] text = JSON.writeValueAsBytes(header);
        int padded = (text.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + all.length - 8 - (int) n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(text);
        for (int i = text.length; i < padded; i++) out.put((byte) ' ');
        out.put(all, 8 + (int) n, all.length - 8 - (int) n);
        Files.write(file, out.array());
    }

    /** Edits a JSON file (config.json, index). */
    static void rewriteJson(Path file, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        edit.accept(root);
        Files.write(file, JSON.writeValueAsBytes(root));
    }

    /**
     * Runs {@code e} and checks that it fails with an IOException or IllegalArgumentException whose message is
     * one line containing every fragment (file names, tensor names, ...). Returns the message.
     */
    static String assertOneLineError(Executable e, String... fragments) {
        Throwable t = assertThrows(Throwable.class, e);
        if (!(t instanceof IOException || t instanceof IllegalArgumentException)) {
            throw new AssertionError("expected IOException or IllegalArgumentException, got " + t, t);
        }
        String m = t.getMessage();
        assertFalse(m == null || m.isBlank(), "empty message");
        assertFalse(m.contains("\n") || m.contains("\r"), "multi-line message: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "message lacks '" + f + "': " + m);
        return m;
    }
}
