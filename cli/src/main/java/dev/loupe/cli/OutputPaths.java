package dev.loupe.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks on where a command will write, made before the model runs: an output that cannot be created should
 * fail in a second, with its option named, not after minutes of compute.
 */
final class OutputPaths {
    private OutputPaths() {}

    /** A file to (re)write: not empty, not an existing folder, and under a folder that exists or can be created. */
    static Path requireFile(Path file, String option) throws IOException {
        if (file.toString().isBlank()) throw new IOException(option + ": empty path, expected a file name");
        if (Files.isDirectory(file)) throw new IOException(option + " " + file + ": is a folder, expected a file name");
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new IOException(option + " " + file + ": exists and is not a regular file");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) requireCreatableFolder(parent, option, file);
        return file;
    }

    /** A folder to write into: an existing folder, or a path where one can be created. */
    static Path requireFolder(Path dir, String option) throws IOException {
        if (dir.toString().isBlank()) throw new IOException(option + ": empty path, expected a folder");
        requireCreatableFolder(dir.toAbsolutePath(), option, dir);
        return dir;
    }

    /** Walks up to the first existing ancestor, which must be a writable folder. */
    private static void requireCreatableFolder(Path dir, String option, Path given) throws IOException {
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isDirectory(p)) {
                if (!Files.isWritable(p)) throw new IOException(option + " " + given + ": folder " + p + " is not writable");
                return;
            }
            if (Files.exists(p)) throw new IOException(option + " " + given + ": " + p + " is a file, not a folder");
        }
    }
}
