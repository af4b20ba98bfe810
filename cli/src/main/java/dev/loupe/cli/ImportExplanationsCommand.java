package dev.loupe.cli;

import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.export.NeuronpediaExplanations;
import dev.loupe.analysis.export.NeuronpediaSource;
import dev.loupe.errors.BadInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code loupe import-explanations}: Neuronpedia's explanation JSON into a run's explanations.arrow. */
@Command(name = "import-explanations", mixinStandardHelpOptions = true,
        description = "Add explanations from Neuronpedia's explanation JSON (an array of {modelId, layer, index, description, "
                + "explanationModelName, typeName}) to RUN_DIR's explanations.arrow; entries of other sources are left out.")
final class ImportExplanationsCommand implements Callable<Integer> {
    @Mixin RunSelection selection;

    @Option(names = "--file", required = true, paramLabel = "FILE", description = "Neuronpedia explanation JSON")
    Path file;

    @Option(names = "--source", paramLabel = "ID", description = "the source id whose entries to take, e.g. 20-gemmascope-res-16k (default: the run's SAE's)")
    String source;

    @Override public Integer call() throws Exception {
        if (!Files.isRegularFile(file)) throw new BadInputException("--file " + file + ": no such file");
        try (FeatureStore store = selection.open()) {
            NeuronpediaSource src = source != null ? ExportCommand.parseSource(source)
                    : NeuronpediaSource.of(store.sae().hook(), store.sae().dSae(), store.sae().path());
            NeuronpediaExplanations.Imported in = NeuronpediaExplanations.read(file, src, store.featureCount());
            Path target = ExplanationsFile.of(store);
            List<ExplanationsFile.Row> rows = new ArrayList<>(ExplanationsFile.read(target));
            rows.addAll(in.rows());
            ExplanationsFile.write(target, rows);
            System.out.println("imported " + in.rows().size() + " explanations of " + src.id() + " into " + target
                    + (in.otherSources() > 0 ? "; " + in.otherSources() + " of other sources left out" : ""));
        }
        return 0;
    }
}
