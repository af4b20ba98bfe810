package dev.loupe.model.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Every file Loupe writes is written under a temporary name beside its target ({@code NAME.partial}) and renamed
 * into place once complete, so a reader never sees a half-written file and an interrupted write leaves at most a
 * {@code .partial} file (deleted when the write fails in-process). No fsync: a killed process leaves its written
 * pages to the kernel, which is the failure resumption handles; surviving power loss would cost a sync per file.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** The suffix of temporary files: a file whose name ends with it is unfinished. */
    public static final String SUFFIX = ".partial";

    /** What fills the temporary file. */
    @FunctionalInterface
    public interface Body {
        void write(Path temporary) throws IOException;
    }

    /** The temporary name {@code file} is written under. */
    public static Path temporary(Path file) { return file.resolveSibling(file.getFileName() + SUFFIX); }

    /** Renames a finished temporary file into place, atomically where the file system can. */
    public static void publish(Path temporary, Path file) throws IOException {
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes {@code file} through {@code body}, which fills the temporary file, then renames it into place. When
     * {@code body} fails the temporary file is deleted, and an I/O error that does not name a file (a full disk
     * reports only "No space left on device") is rethrown naming {@code file}.
     */
    public static void write(Path file, Body body) throws IOException {
        Path tmp = temporary(file);
        try {
            body.write(tmp);
            publish(tmp, file);
        } catch (IOException e) {
            deleteQuietly(tmp, e);
            throw named(file, e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp, e);
            throw e;
        }
    }

    private static void deleteQuietly(Path tmp, Exception failure) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException cleanup) {
            failure.addSuppressed(cleanup);
        }
    }

    public static void write(Path file, byte[] bytes) throws IOException { write(file, tmp -> Files.write(tmp, bytes)); }

    public static void writeString(Path file, String text) throws IOException {
        write(file, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }

    /** {@code e} itself when it names a file, else an IOException that names {@code file} and wraps it. */
    public static IOException named(Path file, IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null) return e;
        String m = e.getMessage();
        if (m != null && m.contains(file.getFileName().toString())) return e;
        return new IOException(file + ": " + (m == null || m.isBlank() ? e.getClass().getSimpleName() : m), e);
    }
}
