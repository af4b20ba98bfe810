package dev.loupe.cli;

import dev.loupe.sae.SyntheticSae;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code loupe synth-sae}: writes a random Gemma-Scope-shaped SAE (params.npz) for benchmarks and tests. */
@Command(name = "synth-sae", mixinStandardHelpOptions = true,
        description = "Write a random JumpReLU SAE as a Gemma Scope params.npz (W_enc = W_dec^T, threshold tuned to an L0).")
public final class SynthSaeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--d-model", required = true, paramLabel = "D", description = "input width (2304 for Gemma 2 2B)")
    int dModel;

    @Option(names = "--width", required = true, paramLabel = "W", description = "number of features, e.g. 16384")
    int width;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created if missing)")
    Path out;

    @Option(names = "--l0", defaultValue = "70", paramLabel = "N",
            description = "expected active features per position on standard-normal inputs (default: ${DEFAULT-VALUE})")
    int l0;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Override public Integer call() throws Exception {
        long start = System.nanoTime();
        Path file = SyntheticSae.write(out, dModel, width, l0, seed);
        PrintWriter o = spec.commandLine().getOut();
        o.printf("wrote %s: d_model %d, width %d, target L0 %d, %.2f GB in %.1f s%n", file, dModel, width, l0,
                Files.size(file) / 1e9, (System.nanoTime() - start) / 1e9);
        o.flush();
        return 0;
    }
}
