package dev.loupe.analysis;

import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Read access to one SAE of a corpus run: the feature table ({@code features.arrow}, a few columns kept in
 * memory), examples ({@code top_examples.arrow}) and the activation shards, read a record batch at a time
 * through the Arrow file footer (never the whole run into the heap). Thread-safe.
 *
 * <pre>{@code
 * try (FeatureStore store = FeatureStore.open(runDir)) {
 *     FeatureCard card = store.card(1234, 8);
 * }
 * }</pre>
 */
public final class FeatureStore implements AutoCloseable {

    private FeatureStore() {}

    /** Opens a single-SAE run (or the first SAE of a run with several), decoding with the tokenizer of the run's model. */
    public static FeatureStore open(Path runDir) throws IOException { throw new UnsupportedOperationException("analysis API skeleton"); }

    /** Opens SAE {@code saeId} of a run. */
    public static FeatureStore open(Path runDir, String saeId) throws IOException { throw new UnsupportedOperationException("analysis API skeleton"); }

    /** Opens SAE {@code saeId} (null: the first) decoding with {@code tokenizer} (null: the model's, from run.json). */
    public static FeatureStore open(Path runDir, String saeId, Tokenizer tokenizer) throws IOException {
        throw new UnsupportedOperationException("analysis API skeleton");
    }

    /** The parsed {@code run.json}. */
    public RunInfo info() { throw new UnsupportedOperationException(); }

    /** The SAE this store reads. */
    public RunInfo.SaeEntry sae() { throw new UnsupportedOperationException(); }

    public int featureCount() { throw new UnsupportedOperationException(); }

    /** Documents in the run. */
    public int documentCount() { throw new UnsupportedOperationException(); }

    /** Tokens in the run. */
    public long tokenCount() { throw new UnsupportedOperationException(); }

    /** A filtered, sorted page of the feature table. */
    public FeaturePage features(FeatureQuery query) { throw new UnsupportedOperationException(); }

    public FeatureSummary summary(int feature) { throw new UnsupportedOperationException(); }

    public Histogram histogram(int feature) { throw new UnsupportedOperationException(); }

    /** The feature's top examples, then its quantile groups, each with ±{@code context} tokens decoded. */
    public List<Example> examples(int feature, int context) { throw new UnsupportedOperationException(); }

    /** Summary, histogram and examples. */
    public FeatureCard card(int feature, int context) { throw new UnsupportedOperationException(); }

    /** The {@code k} strongest features at a token of the run. */
    public List<FeatureActivation> topFeaturesAt(int docId, int pos, int k) { throw new UnsupportedOperationException(); }

    /** The tokens of a document between positions {@code from} (inclusive) and {@code to} (exclusive), decoded. */
    public List<ContextToken> tokens(int docId, int from, int to) { throw new UnsupportedOperationException(); }

    /** Features whose top promoted tokens contain {@code text} (case-insensitive), ids ascending, at most {@code limit}. */
    public List<FeatureSummary> promotedTokenMatches(String text, int limit) { throw new UnsupportedOperationException(); }

    /**
     * The {@code k} features whose decoder rows are closest to feature {@code feature}'s by cosine similarity,
     * computed now by streaming {@code W_dec} (works for 1M-wide SAEs). {@code sae} must be the run's SAE.
     */
    public List<Neighbour> nearestByDecoder(Sae sae, int feature, int k) { throw new UnsupportedOperationException(); }

    @Override public void close() {}
}
