package dev.loupe.cli;

import dev.loupe.model.Model;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every model-running command shares. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Hugging Face folder (config.json + safetensors) or a .gguf file")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME",
            description = "where to compute: cpu (Vector API) or tornado (TornadoVM: GPUs and OpenCL devices; default: ${DEFAULT-VALUE})")
    String backend;

    Model load() {
        if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1");
        return Model.load(model, backend, threads);
    }
}
