package dev.loupe.model.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Loads a Gemma 2 checkpoint from whichever format a path holds. */
public final class Checkpoints {
    private Checkpoints() {}

    /** The checkpoint formats Loupe reads. */
    public enum Format { HF_FOLDER, GGUF }

    /** A folder with config.json is a Hugging Face checkpoint; a {@code .gguf} file is GGUF. */
    public static Format detect(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(HfCheckpoint.CONFIG))) return Format.HF_FOLDER;
            throw new IOException(path + ": folder has no " + HfCheckpoint.CONFIG + " (expected a Hugging Face model folder or a .gguf file)");
        }
        if (!Files.exists(path)) throw new IOException(path + ": does not exist");
        // Opening a FIFO blocks until something writes to it; a device or socket is no checkpoint either.
        if (!Files.isRegularFile(path)) throw new IOException(path + ": not a regular file (a FIFO, socket or device?); expected a .gguf file or a model folder");
        if (path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) return Format.GGUF;
        throw new IOException(path + ": not a checkpoint (expected a Hugging Face model folder with config.json or a .gguf file)");
    }

    /** Memory-maps the checkpoint at {@code path}; close the result to unmap it. */
    public static ModelWeights load(Path path) throws IOException {
        return switch (detect(path)) {
            case HF_FOLDER -> HfCheckpoint.load(path);
            case GGUF -> GgufCheckpoint.load(path);
        };
    }

    /**
     * Opens a GGUF file for its metadata (e.g. the tokenizer vocabulary) and tensors; pass it to
     * {@link GgufCheckpoint#load(GgufFile)} to get weights that share the mapping.
     */
    public static GgufFile openGguf(Path path) throws IOException {
        if (detect(path) != Format.GGUF) throw new IOException(path + ": not a .gguf file");
        return GgufFile.open(path);
    }
}
