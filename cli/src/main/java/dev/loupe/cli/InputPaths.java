package dev.loupe.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Checks on the files a command reads, made before anything is opened or computed. */
final class InputPaths {
    /** The options naming memory-mapped inputs (model and SAE weights). */
    private static final List<String> MAPPED = List.of("--model", "--sae", "--fit-model");

    private InputPaths() {}

    /** The memory-mapped inputs a parsed command was given, for messages about files that changed under it. */
    static List<Path> of(CommandLine cmd) {
        List<Path> out = new ArrayList<>();
        for (String name : MAPPED) {
            OptionSpec o = cmd.getCommandSpec().findOption(name);
            if (o != null && o.getValue() instanceof Path p) out.add(p);
        }
        return out;
    }

    /**
     * A regular file to read. A folder, a FIFO or a device is refused here: opening a FIFO blocks until
     * something writes to it, and reading a folder fails with a message naming no file.
     */
    static Path requireFile(Path file, String option) throws IOException {
        if (Files.isRegularFile(file)) return file;
        if (!Files.exists(file)) throw new java.nio.file.NoSuchFileException(file.toString());
        if (Files.isDirectory(file)) throw new IOException(option + " " + file + ": is a folder, expected a file");
        throw new IOException(option + " " + file + ": not a regular file (a FIFO, socket or device?)");
    }

    /** The lines of a UTF-8 text file, or one line saying where it is not UTF-8 text. */
    static List<String> readLines(Path file, String option) throws IOException {
        requireFile(file, option);
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) lines.add(line);
        } catch (CharacterCodingException e) {
            throw new IOException(option + " " + file + ": not UTF-8 text (invalid bytes after line " + lines.size()
                    + "; a binary file?)");
        }
        return lines;
    }
}
