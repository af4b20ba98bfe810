package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tokenizer.Tokenizers;
import dev.loupe.tools.model.SyntheticCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loupe synth}: writes a random-weight Gemma 2 of a real shape as a Hugging Face folder. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a Gemma 2 with random weights (config.json + safetensors, sharded above 5 GB) for benchmarks and tests.")
public final class SynthCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "gemma-2-2b, gemma-2-9b, gemma-2-27b, tiny, toy or small")
    String shape;

    @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "TYPE", description = "bf16 or f32 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--out", required = true, paramLabel = "PATH", description = "output folder (created if missing), or the .gguf file with --format gguf")
    Path out;

    @Option(names = "--format", defaultValue = "hf", paramLabel = "FORMAT",
            description = "hf (config.json + safetensors) or gguf (one file llama.cpp also loads, with a placeholder vocabulary; for side-by-side benchmarks) (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "random seed; the same seed gives the same bytes (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "a tokenizer.json to ship with the model: the vocabulary is sized to it and the file copied beside the weights")
    Path tokenizer;

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "threads generating values (default: ${DEFAULT-VALUE})")
    int threads;

    @Override
    public Integer call() throws Exception {
        ModelConfig config = ModelConfig.shape(shape);
        OutputPaths.requireFolder(out, "--out");
        if (tokenizer != null) config = config.withVocabSize(Tokenizers.load(tokenizer).vocabSize());
        DType type = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "bf16" -> DType.BF16;
            case "f32" -> DType.F32;
            default -> throw new BadInputException("--dtype " + dtype + ": expected bf16 or f32");
        };
        if (threads < 1) throw new BadInputException("--threads must be at least 1");
        long start = System.nanoTime();
        if (format.equalsIgnoreCase("gguf")) return writeGguf(config, type, start);
        if (!format.equalsIgnoreCase("hf")) throw new BadInputException("--format " + format + ": expected hf or gguf");
        List<Path> files = SyntheticCheckpoint.write(config, type, out, seed, threads);
        if (tokenizer != null) copyTokenizer();
        double seconds = (System.nanoTime() - start) / 1e9;
        long bytes = 0;
        for (Path f : files) bytes += Files.size(f);
        PrintWriter o = spec.commandLine().getOut();
        o.printf("wrote %s %s (seed %d) to %s: %d weight file(s), %.2f GB in %.1f s%n",
                shape, dtype.toLowerCase(Locale.ROOT), seed, out, files.size(), bytes / 1e9, seconds);
        o.flush();
        return 0;
    }

    /** The same weights as {@code --format hf} with this seed, as one GGUF file ({@link SyntheticCheckpoint#writeGguf}). */
    private int writeGguf(ModelConfig config, DType type, long start) throws java.io.IOException {
        if (tokenizer != null) throw new BadInputException("--tokenizer: only with --format hf (the GGUF gets a placeholder vocabulary)");
        if (Files.isDirectory(out)) throw new BadInputException("--out " + out + " is a folder; --format gguf writes a file");
        SyntheticCheckpoint.writeGguf(config, type, out, seed, threads);
        PrintWriter o = spec.commandLine().getOut();
        o.printf("wrote %s %s (seed %d) to %s: %.2f GB in %.1f s%n", shape, dtype.toLowerCase(Locale.ROOT), seed, out,
                Files.size(out) / 1e9, (System.nanoTime() - start) / 1e9);
        o.flush();
        return 0;
    }

    /** Copies tokenizer.json (and tokenizer_config.json beside it, if any) into the output, each via a temporary name. */
    private void copyTokenizer() throws java.io.IOException {
        Path src = Files.isDirectory(tokenizer) ? tokenizer.resolve("tokenizer.json") : tokenizer;
        for (Path f : List.of(src, src.resolveSibling("tokenizer_config.json"))) {
            if (!Files.isRegularFile(f)) continue;
            dev.loupe.model.io.AtomicFiles.write(out.resolve(f.getFileName().toString()),
                    tmp -> Files.copy(f, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING));
        }
    }
}
