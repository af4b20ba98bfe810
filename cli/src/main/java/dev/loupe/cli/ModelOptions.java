package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
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

    Model load() { return load(model); }

    /** Another model (e.g. a draft) on the same kind of backend, with its own backend instance. */
    Model load(Path path) {
        if (threads < 1) throw new BadInputException("--threads must be at least 1");
        return Model.load(path, backend, threads);
    }
}
