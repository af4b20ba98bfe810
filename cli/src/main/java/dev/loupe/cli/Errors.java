package dev.loupe.cli;

import dev.loupe.analysis.flags.Flags;
import dev.loupe.errors.BadInputException;
import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns an exception (or a JVM error) into the one line the CLI prints and its exit code. Three kinds: input the
 * user gave is wrong ({@link BadInputException}: its message, with the library's parameter name said as the flag,
 * exit 2, as picocli's own option errors); the machine failed the command (a file it cannot read or write, memory,
 * a file truncated under it, something not supported: exit 1); anything else is a bug in Loupe, said as one
 * "internal error" line that asks for a report (exit 1; {@code -Dloupe.trace=true} prints the stack trace).
 */
final class Errors {
    private Errors() {}

    /** The exit code for wrong input, picocli's {@code exitCodeOnInvalidInput}. */
    static final int BAD_INPUT = 2;
    /** The exit code for a failure of the machine or of Loupe. */
    static final int FAILED = 1;

    /** What the CLI prints after its {@code "loupe CMD: "} prefix, and the exit code it returns. */
    record Failure(String line, int exitCode) {}

    /** The report of {@code t}, thrown while {@code cmd} ran (its flags name the parameters in a bad-input message). */
    static Failure of(Throwable t, CommandLine cmd) {
        Throwable e = unwrap(t);
        if (e instanceof BadInputException b) return new Failure(flat(Flags.message(b, cmd.getCommandSpec())), BAD_INPUT);
        if (e instanceof CommandLine.ParameterException) return new Failure(oneLine(e), BAD_INPUT);
        if (isEnvironment(e)) return new Failure(oneLine(e, InputPaths.of(cmd)), FAILED);
        String what = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + ": " + e.getMessage();
        return new Failure(flat("internal error: " + what + " (a bug in Loupe: please report it with the command line;"
                + " -Dloupe.trace=true in LOUPE_JAVA_OPTS prints the stack trace)"), FAILED);
    }

    /**
     * The machine's failures rather than Loupe's: files, JVM errors (memory, stack, an InternalError such as a fault in
     * a mapped file changed under the run), requests a backend does not support.
     */
    private static boolean isEnvironment(Throwable e) {
        return e instanceof IOException || e instanceof VirtualMachineError || e instanceof UnsupportedOperationException;
    }

    /** The exception a wrapper carries: an unchecked I/O error, a bare RuntimeException, a task's failure. */
    private static Throwable unwrap(Throwable t) {
        Throwable e = t;
        while ((e instanceof UncheckedIOException || e.getClass() == RuntimeException.class
                || e instanceof java.util.concurrent.ExecutionException || e instanceof java.util.concurrent.CompletionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    private static String flat(String s) { return s.replace('\r', ' ').replace('\n', ' '); }

    static String oneLine(Throwable t) { return oneLine(t, List.of()); }

    /**
     * @param inputs the files the command was reading (its --model, --sae, ...), named when a memory-mapped one
     *               faulted, which is how a file truncated or replaced during the run shows up
     */
    static String oneLine(Throwable t, List<Path> inputs) {
        Throwable e = unwrap(t);
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
        return flat(m);
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
