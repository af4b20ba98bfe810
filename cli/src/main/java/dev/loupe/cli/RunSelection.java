package dev.loupe.cli;

import dev.loupe.analysis.FeatureStore;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The corpus run a command reads and which of its SAEs: {@code --run} and {@code --sae}, a picocli mixin. */
final class RunSelection {
    @Option(names = "--run", required = true, paramLabel = "RUN_DIR", description = "a folder made by loupe index")
    Path run;

    @Option(names = "--sae", paramLabel = "ID", description = "which SAE of a run with several (default: the first)")
    String sae;

    /** The run folder. */
    Path folder() { return run; }

    /** The chosen SAE's features in the run (the caller closes it). */
    FeatureStore open() throws IOException { return FeatureStore.open(run, sae); }
}
