package dev.loupe.cli;

import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.export.NeuronpediaExplanations;
import dev.loupe.analysis.export.NeuronpediaExport;
import dev.loupe.analysis.export.NeuronpediaSource;
import dev.loupe.errors.BadInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code loupe export --format neuronpedia}: a corpus run as files Neuronpedia uploads. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a corpus run's features in another tool's format. neuronpedia: batch-N.json files, each the body of "
                + "Neuronpedia's POST /api/feature/upload-batch (density, top/bottom logits, activating examples, explanations), "
                + "and skipped.json for features that never fired.")
final class ExportCommand implements Callable<Integer> {
    @Mixin RunSelection selection;

    @Option(names = "--format", required = true, paramLabel = "FORMAT",
            description = "neuronpedia (feature batches) or neuronpedia-explanations (OUT/explanations.json: Neuronpedia's explanation JSON)")
    String format;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the folder to write into")
    Path out;

    @Option(names = "--model-id", paramLabel = "ID", description = "Neuronpedia's model id, e.g. gemma-2-2b (default: the run's model name)")
    String modelId;

    @Option(names = "--source", paramLabel = "ID", description = "Neuronpedia's source id LAYER-SET, e.g. 20-gemmascope-res-16k (default: from the run's SAE)")
    String source;

    @Option(names = "--batch-size", paramLabel = "N", description = "features per file, 1..128 (default: ${DEFAULT-VALUE})")
    int batchSize = NeuronpediaExport.MAX_BATCH;

    @Override public Integer call() throws Exception {
        if (!format.equals("neuronpedia") && !format.equals("neuronpedia-explanations")) {
            throw new BadInputException("--format " + format + ": the formats are neuronpedia and neuronpedia-explanations");
        }
        if (batchSize < 1 || batchSize > NeuronpediaExport.MAX_BATCH) {
            throw new BadInputException("--batch-size must be in 1.." + NeuronpediaExport.MAX_BATCH + " (Neuronpedia's limit), got " + batchSize);
        }
        OutputPaths.requireFolder(out, "--out");
        try (FeatureStore store = selection.open()) {
            java.util.Map<Integer, java.util.List<NeuronpediaExport.Explanation>> explanations = new java.util.HashMap<>();
            for (ExplanationsFile.Row r : ExplanationsFile.read(ExplanationsFile.of(store))) {
                explanations.computeIfAbsent(r.featureId(), k -> new java.util.ArrayList<>())
                        .add(new NeuronpediaExport.Explanation(r.explanation(), r.method(), r.explainerModel()));
            }
            NeuronpediaExport.Options o = NeuronpediaExport.Options.of(store, out).withBatchSize(batchSize).withExplanations(explanations);
            if (modelId != null) o = o.withModelId(modelId);
            if (source != null) o = o.withSource(parseSource(source));
            if (format.equals("neuronpedia-explanations")) {
                List<ExplanationsFile.Row> rows = ExplanationsFile.read(ExplanationsFile.of(store));
                java.nio.file.Files.createDirectories(out);
                NeuronpediaExplanations.write(out.resolve("explanations.json"), o.modelId(), o.source(), rows);
                System.out.println("wrote " + rows.size() + " explanations to " + out.resolve("explanations.json") + " (source " + o.source().id() + ")");
                return 0;
            }
            NeuronpediaExport.Result r = NeuronpediaExport.write(store, o);
            System.out.println("wrote " + r.features() + " features in " + (r.files().size() - (r.skipped() > 0 ? 1 : 0)) + " batch files to " + out
                    + " (model " + o.modelId() + ", source " + o.source().id() + ")" + (r.skipped() > 0 ? "; " + r.skipped() + " never fired: skipped.json" : ""));
        }
        return 0;
    }

    static NeuronpediaSource parseSource(String id) {
        int dash = id.indexOf('-');
        try {
            if (dash > 0) return new NeuronpediaSource(Integer.parseInt(id.substring(0, dash)), id.substring(dash + 1));
        } catch (NumberFormatException e) {
            // falls through to the message
        }
        throw new BadInputException("--source " + id + ": expected LAYER-SET, e.g. 20-gemmascope-res-16k");
    }
}
