package dev.loupe.cli;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** Turns an exception (or a JVM error) into the one-line message the CLI prints. */
final class Errors {
    private Errors() {}

    static String oneLine(Throwable t) { return oneLine(t, List.of()); }

    /**
     * @param inputs the files the command was reading (its --model, --sae, ...), named when a memory-mapped one
     *               faulted, which is how a file truncated or replaced during the run shows up
     */
    static String oneLine(Throwable t, List<Path> inputs) {
        Throwable e = t;
        while ((e instanceof UncheckedIOException || e.getClass() == RuntimeException.class) && e.getCause() != null) {
            e = e.getCause();
        }
        String m = switch (e) {
            case NoSuchFileException n -> "no such file: " + n.getFile();
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case FileSystemException f when f.getFile() != null -> f.getFile() + ": " + reason(f);
            case OutOfMemoryError o -> "out of memory" + (o.getMessage() == null ? "" : " (" + o.getMessage() + ")")
                    + ": the input is too large for the Java heap (raise -Xmx via LOUPE_JAVA_OPTS) or its sizes are corrupt";
            case StackOverflowError s -> "input nested too deeply to process (stack overflow)";
            case InternalError i when String.valueOf(i.getMessage()).contains("unsafe memory access") ->
                    "a memory-mapped input file" + (inputs.isEmpty() ? "" : " (under " + join(inputs) + ")")
                            + " was truncated or replaced while it was being read; rerun once it is complete";
            default -> {
                String msg = e.getMessage();
                yield msg == null || msg.isBlank() ? e.getClass().getSimpleName() : msg;
            }
        };
        return m.replace('\r', ' ').replace('\n', ' ');
    }

    /** The JDK's file exceptions often carry no reason, only their class: say what the class means. */
    private static String reason(FileSystemException f) {
        String r = f.getReason();
        if (r != null && !r.isBlank()) return r;
        return switch (f) {
            case java.nio.file.FileAlreadyExistsException x -> "already exists (a file where a folder or a new file was expected)";
            case java.nio.file.NotDirectoryException x -> "is not a folder";
            case java.nio.file.DirectoryNotEmptyException x -> "is a folder that is not empty";
            case java.nio.file.NotLinkException x -> "is not a symbolic link";
            case java.nio.file.FileSystemLoopException x -> "is part of a loop of symbolic links";
            default -> f.getClass().getSimpleName();
        };
    }

    private static String join(List<Path> paths) {
        StringBuilder b = new StringBuilder();
        for (Path p : paths) b.append(b.isEmpty() ? "" : ", ").append(p);
        return b.toString();
    }
}
