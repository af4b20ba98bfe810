package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
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
    /** {@link dev.loupe.analysis.Corpus#tokenIds}, failing with a line that names the option. */
    static List<int[]> corpusTokenIds(Path corpus, String option, dev.loupe.model.tokenizer.Tokenizer tokenizer, int maxLength, long maxTokens)
            throws IOException {
        try {
            return dev.loupe.analysis.Corpus.tokenIds(corpus, tokenizer, maxLength, maxTokens);
        } catch (BadInputException e) {
            throw new BadInputException(option + " " + e.getMessage(), e);
        }
    }

    /** The files of a corpus ({@link dev.loupe.analysis.Corpus#files}), failing with a line that names the option. */
    static List<Path> corpusFiles(Path corpus, String option) throws IOException {
        try {
            return dev.loupe.analysis.Corpus.files(corpus);
        } catch (BadInputException e) {
            throw new BadInputException(option + " " + e.getMessage(), e);
        }
    }
}
