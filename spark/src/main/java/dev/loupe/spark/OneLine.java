package dev.loupe.spark;

import dev.loupe.analysis.flags.Flags;
import dev.loupe.errors.BadInputException;
import org.apache.spark.SparkException;
import picocli.CommandLine.Model.CommandSpec;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** The one line the driver prints for an exception, its own or a task's. */
final class OneLine {
    private OneLine() {}

    static String of(Throwable t) { return of(t, null); }

    /** Whether {@code t} is wrong input (exit 2, as loupe's), once Spark's and I/O wrappers are taken off. */
    static boolean isBadInput(Throwable t) {
        for (Throwable e = t; e != null; e = e.getCause()) {
            if (e instanceof BadInputException) return true;
            if (!(e instanceof SparkException || e instanceof UncheckedIOException || e.getClass() == RuntimeException.class)) return false;
        }
        return false;
    }

    /** The line for {@code t}; a {@link BadInputException} names its parameter as {@code spec}'s flag ({@link Flags}). */
    static String of(Throwable t, CommandSpec spec) {
        Throwable e = t;
        // A failed job: the task's own exception when Spark kept it, else the first line of Spark's summary.
        while (e instanceof SparkException || e instanceof UncheckedIOException
                || (e.getClass() == RuntimeException.class && e.getCause() != null)) {
            if (e.getCause() == null) return fromSparkMessage(e.getMessage());
            e = e.getCause();
        }
        String m = switch (e) {
            case BadInputException b -> Flags.message(b, spec);
            case NoSuchFileException n -> "no such file: " + n.getFile();
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case FileSystemException f when f.getFile() != null -> f.getFile() + ": " + (f.getReason() == null ? f.getClass().getSimpleName() : f.getReason());
            default -> e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
        };
        return clean(m);
    }

    /** "Job aborted ... most recent failure: Lost task 0.3 in stage 0.0 (TID 3) (host executor 1): java.io.IOException: MSG" -> MSG. */
    static String fromSparkMessage(String m) {
        if (m == null) return "the Spark job failed";
        String first = m.lines().findFirst().orElse(m);
        int i = first.indexOf("): ");
        if (first.contains("most recent failure") && i >= 0) {
            String rest = first.substring(i + 3);
            int colon = rest.indexOf(": ");
            if (colon > 0 && rest.substring(0, colon).matches("[\\w.$]+")) rest = rest.substring(colon + 2);
            return clean(rest);
        }
        return clean(first);
    }

    private static String clean(String m) { return m.replace('\r', ' ').replace('\n', ' ').strip(); }
}
