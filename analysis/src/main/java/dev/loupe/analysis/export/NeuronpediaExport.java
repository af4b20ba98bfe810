package dev.loupe.analysis.export;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.FeatureSummary;
import dev.loupe.analysis.RunManifest;
import dev.loupe.analysis.TokenValue;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A corpus run as Neuronpedia feature data: {@code batch-N.json} files, each the body of Neuronpedia's
 * {@code POST /api/feature/upload-batch} ({@code {modelId, source, features: [...]}}, at most 128 features each),
 * with per feature its density, top and bottom logits (the run's promoted and suppressed tokens, at most 20 each),
 * its activating examples (tokens and per-token activations of each top and quantile example's window) and, when
 * given, its explanations. Neuronpedia refuses a feature without activations: those go to {@code skipped.json} in
 * the shape of its {@code upload-skipped-features} request. Files are written under a temporary name and renamed.
 *
 * <pre>{@code
 * try (FeatureStore store = FeatureStore.open(runDir)) {
 *     NeuronpediaExport.Result r = NeuronpediaExport.write(store, NeuronpediaExport.Options.of(store, outDir));
 * }
 * }</pre>
 */
public final class NeuronpediaExport {
    /** Neuronpedia's limit on features per upload batch. */
    public static final int MAX_BATCH = 128;
    static final int MAX_LOGITS = 20;

    private static final ObjectMapper JSON = JsonMapper.builder().serializationInclusion(JsonInclude.Include.NON_NULL).build();

    private NeuronpediaExport() {}

    /**
     * @param out          the folder to write into (created when missing)
     * @param modelId      Neuronpedia's model id, e.g. {@code gemma-2-2b} (lower case)
     * @param source       the SAE's source id, e.g. {@code 20-gemmascope-res-16k}
     * @param batchSize    features per batch file, 1..128
     * @param context      tokens either side of an example's activating token
     * @param explanations feature → its explanations (may be empty)
     */
    public record Options(Path out, String modelId, NeuronpediaSource source, int batchSize, int context,
                          Map<Integer, List<Explanation>> explanations) {
        public Options {
            if (modelId == null || modelId.isBlank()) throw BadInputException.of("modelId", "is empty");
            modelId = modelId.toLowerCase(Locale.ROOT);
            if (batchSize < 1 || batchSize > MAX_BATCH) throw BadInputException.of("batchSize", "must be in 1.." + MAX_BATCH + ", got " + batchSize);
            if (context < 0) throw BadInputException.of("context", "must be >= 0, got " + context);
            explanations = Map.copyOf(explanations);
        }

        /** The run's model (its file or folder name) and SAE, 128 features a batch, 16 tokens of context. */
        public static Options of(FeatureStore store, Path out) {
            RunManifest info = store.info();
            String model = info.model().name();
            model = model.replaceAll("\\.gguf$", "");
            RunManifest.SaeEntry sae = store.sae();
            return new Options(out, model, NeuronpediaSource.of(sae.hook(), sae.dSae(), sae.path()), MAX_BATCH, 16, Map.of());
        }

        public Options withModelId(String id) { return new Options(out, id, source, batchSize, context, explanations); }

        public Options withSource(NeuronpediaSource s) { return new Options(out, modelId, s, batchSize, context, explanations); }

        public Options withBatchSize(int n) { return new Options(out, modelId, source, n, context, explanations); }

        public Options withExplanations(Map<Integer, List<Explanation>> e) { return new Options(out, modelId, source, batchSize, context, e); }
    }

    /** An explanation as Neuronpedia stores it: its text, the method and the explainer model. */
    public record Explanation(String text, String methodName, String modelName) {}

    public record Logit(String token, float value) {}

    public record Activation(List<String> tokens, List<Float> values) {}

    public record Feature(int index, double density, List<Logit> topLogits, List<Logit> bottomLogits,
                          List<Explanation> explanations, List<Activation> activations) {}

    public record Batch(String modelId, String source, List<Feature> features) {}

    public record Skipped(String modelId, String layer, String saeSet, String saeId, List<Integer> skippedIndexes) {}

    /** What was written. */
    public record Result(int features, int skipped, List<Path> files) {}

    public static Result write(FeatureStore store, Options o) throws IOException {
        Files.createDirectories(o.out());
        List<Path> files = new ArrayList<>();
        List<Feature> batch = new ArrayList<>();
        List<Integer> skipped = new ArrayList<>();
        int written = 0;
        for (int f = 0; f < store.featureCount(); f++) {
            List<Example> examples = store.examples(f, o.context());
            if (examples.isEmpty()) {
                skipped.add(f);
                continue;
            }
            batch.add(feature(store.summary(f), examples, o.explanations().getOrDefault(f, List.of())));
            written++;
            if (batch.size() == o.batchSize()) files.add(flush(o, batch, files.size()));
        }
        if (!batch.isEmpty()) files.add(flush(o, batch, files.size()));
        if (!skipped.isEmpty()) {
            Path p = o.out().resolve("skipped.json");
            AtomicFiles.write(p, snake().writeValueAsBytes(new Skipped(o.modelId(), String.valueOf(o.source().layer()), o.source().set(), o.source().id(), skipped)));
            files.add(p);
        }
        return new Result(written, skipped.size(), files);
    }

    /** upload-skipped-features is read with snake_case names. */
    private static ObjectMapper snake() {
        return JsonMapper.builder().propertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE).build();
    }

    static Feature feature(FeatureSummary s, List<Example> examples, List<Explanation> explanations) {
        List<Activation> acts = new ArrayList<>();
        for (Example e : examples) {
            List<String> tokens = new ArrayList<>();
            List<Float> values = new ArrayList<>();
            for (ContextToken t : e.window()) {
                tokens.add(t.text());
                values.add(t.activation());
            }
            acts.add(new Activation(tokens, values));
        }
        return new Feature(s.featureId(), s.density(), logits(s.topPromoted()), logits(s.topSuppressed()),
                explanations.isEmpty() ? null : List.copyOf(explanations), acts);
    }

    private static List<Logit> logits(List<TokenValue> tokens) {
        return tokens.stream().limit(MAX_LOGITS).map(t -> new Logit(t.text(), t.value())).toList();
    }

    private static Path flush(Options o, List<Feature> batch, int n) throws IOException {
        Path p = o.out().resolve("batch-" + n + ".json");
        AtomicFiles.write(p, JSON.writeValueAsBytes(new Batch(o.modelId(), o.source().id(), List.copyOf(batch))));
        batch.clear();
        return p;
    }
}
