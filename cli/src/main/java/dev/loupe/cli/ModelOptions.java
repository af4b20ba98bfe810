package dev.loupe.cli;

import dev.loupe.model.Gemma2;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every model-running command shares. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Hugging Face folder (config.json + safetensors) or a .gguf file")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    Gemma2 load() { return Gemma2.load(model, threads); }
}
