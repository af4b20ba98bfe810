package dev.loupe.cli;

import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

/** Turns an exception into the one-line message the CLI prints. */
final class Errors {
    private Errors() {}

    static String oneLine(Throwable t) {
        Throwable e = t;
        while ((e instanceof UncheckedIOException || e.getClass() == RuntimeException.class) && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof NoSuchFileException n) return "no such file: " + n.getFile();
        if (e instanceof OutOfMemoryError) return "out of memory: " + e.getMessage() + " (raise -Xmx via LOUPE_JAVA_OPTS)";
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        return m.replace('\n', ' ');
    }
}
