package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.tokenizer.Tokenizers;
import dev.loupe.sae.Sae;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Read access to one SAE of a finished corpus run. The feature table's scalar columns and documents' offsets sit in
 * memory (a few bytes per feature and per document); everything else is read a record batch at a time through the
 * Arrow file footers: a token row {@code t} lives in batch {@code (t - shard's first token) / batch_tokens} of its
 * shard, and feature {@code f}'s list columns and examples in batch {@code f / features_per_batch}. Recently used
 * batches are cached. Thread-safe.
 *
 * <pre>{@code
 * try (FeatureStore store = FeatureStore.open(runDir)) {
 *     FeatureCard card = store.card(1234, 8);
 * }
 * }</pre>
 */
public final class FeatureStore implements AutoCloseable {
    private static final int CACHED_BATCHES = 128;

    private final Path runDir, saeDir;
    private final RunManifest info;
    private final RunManifest.SaeEntry sae;
    private final Tokenizer tokenizer;
    private final BufferAllocator allocator = new RootAllocator();
    private final int batchTokens, featuresPerBatch, context;
    // documents
    private final long[] docOffset;
    private final int[] docTokens;
    private final String[] docSource;
    // shards
    private final long[] shardFirstToken;
    // features.arrow scalar columns
    private final long[] fireCount;
    private final double[] density;
    private final float[] maxActivation, meanActivation;
    private final Map<Path, ArrowFileReader> readers = new HashMap<>();
    private final Map<BatchKey<?>, Object> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<BatchKey<?>, Object> e) { return size() > CACHED_BATCHES; }
    };
    private final Map<String, int[]> sortedOrders = new HashMap<>();
    private Map<Integer, String> promotedTexts;
    private int[] promotedIds;
    private boolean closed;

    private FeatureStore(Path runDir, RunManifest info, RunManifest.SaeEntry sae, Tokenizer tokenizer) throws IOException {
        this.runDir = runDir;
        this.info = info;
        this.sae = sae;
        this.saeDir = runDir.resolve(sae.dir()).normalize();
        this.tokenizer = tokenizer;
        this.batchTokens = info.options().batchTokens();
        this.featuresPerBatch = info.options().featuresPerBatch();
        this.context = info.options().context();
        List<RunManifest.ShardEntry> shards = info.contents().shards();
        if (shards.isEmpty()) throw new BadInputException(runDir.resolve(RunLayout.RUN_JSON) + ": the run has no shards (it indexed no tokens)");
        shardFirstToken = shards.stream().mapToLong(RunManifest.ShardEntry::firstToken).toArray();
        try {
            // documents
            Path documents = runDir.resolve(RunLayout.DOCUMENTS);
            List<RunTables.Documents.Batch> docBatches = new ArrayList<>();
            forEachBatch(documents, root -> docBatches.add(RunTables.Documents.Batch.read(root, documents)));
            int docs = docBatches.stream().mapToInt(b -> b.docId().length).sum();
            docOffset = new long[docs];
            docTokens = new int[docs];
            docSource = new String[docs];
            int at = 0;
            for (RunTables.Documents.Batch b : docBatches) {
                System.arraycopy(b.tokenOffset(), 0, docOffset, at, b.docId().length);
                System.arraycopy(b.tokenCount(), 0, docTokens, at, b.docId().length);
                System.arraycopy(b.source(), 0, docSource, at, b.docId().length);
                at += b.docId().length;
            }
            for (int i = 0; i < docOffset.length; i++) {
                if (docOffset[i] < 0 || docTokens[i] < 0 || docOffset[i] + docTokens[i] > info.tokens()) {
                    throw new BadInputException(documents + ": document " + i + " spans tokens ["
                            + docOffset[i] + ", " + (docOffset[i] + docTokens[i]) + ") outside the run's " + info.tokens());
                }
            }
            // features
            int n = sae.dSae();
            fireCount = new long[n];
            density = new double[n];
            maxActivation = new float[n];
            meanActivation = new float[n];
            int[] seen = {0};
            Path features = saeDir.resolve(RunLayout.FEATURES);
            forEachBatch(features, root -> {
                RunTables.Features.Scalars b = RunTables.Features.Scalars.read(root, features);
                for (int i = 0; i < b.featureId().length; i++) {
                    int f = b.featureId()[i];
                    if (f < 0 || f >= n) throw new BadInputException(features + ": feature_id " + f + " outside [0, " + n + ")");
                    fireCount[f] = b.fireCount()[i];
                    density[f] = b.density()[i];
                    maxActivation[f] = b.maxActivation()[i];
                    meanActivation[f] = b.meanActivation()[i];
                    seen[0]++;
                }
            });
            if (seen[0] != n) throw new BadInputException(features + ": " + seen[0] + " rows, expected d_sae = " + n);
        } catch (IOException | RuntimeException e) {
            try {
                close();
            } catch (RuntimeException leak) {
                // Arrow's "Memory was leaked" when reading stopped half-way: the first failure is the one to report.
                e.addSuppressed(leak);
            }
            throw e;
        }
    }

    /** Opens a single-SAE run (or the first SAE of a run with several), decoding with the tokenizer of the run's model. */
    public static FeatureStore open(Path runDir) throws IOException { return open(runDir, null, null); }

    /** Opens SAE {@code saeId} of a run. */
    public static FeatureStore open(Path runDir, String saeId) throws IOException { return open(runDir, saeId, null); }

    /**
     * Opens SAE {@code saeId} (null: the first) decoding with {@code tokenizer} (null: the tokenizer of the model
     * run.json names, when it can be found; otherwise tokens show as {@code <id>}).
     */
    public static FeatureStore open(Path runDir, String saeId, Tokenizer tokenizer) throws IOException {
        Path runJson = runDir.resolve(RunLayout.RUN_JSON);
        if (!Files.isRegularFile(runJson)) throw new NoSuchFileException(runJson + " (not a corpus run folder: make one with loupe index)");
        RunManifest info = RunManifest.read(runJson);
        if (!info.complete()) {
            throw new BadInputException(runDir + ": the corpus run is not complete (rerun the same loupe index command to resume it)");
        }
        RunManifest.SaeEntry entry = saeId == null ? info.saes().getFirst() : info.sae(saeId);
        // Every file this SAE's pages read (its own and the shared tokens and documents), byte for byte.
        String own = entry.dir().equals(".") ? "" : entry.dir() + "/";
        try (BufferAllocator check = new RootAllocator()) {
            RunCheck.checkFiles(runDir, info, rel -> !rel.contains("/") || rel.startsWith(own), check);
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage() + "; the run is damaged: index the corpus again into a new folder");
        }
        Tokenizer tok = tokenizer != null ? tokenizer : modelTokenizer(runDir, info.model().path());
        return new FeatureStore(runDir, info, entry, tok);
    }

    private static Tokenizer modelTokenizer(Path runDir, String model) {
        for (Path p : new Path[]{Path.of(model), runDir.resolve(model)}) {
            try {
                if (Files.exists(p)) return Tokenizers.load(p);
            } catch (IOException | RuntimeException e) {
                // a model folder without a tokenizer: tokens show as ids
            }
        }
        return null;
    }

    /** The run's run.json. */
    public RunManifest info() { return info; }

    public RunManifest.SaeEntry sae() { return sae; }

    public Path runDir() { return runDir; }

    public int featureCount() { return sae.dSae(); }

    public int documentCount() { return docOffset.length; }

    public long tokenCount() { return info.tokens(); }

    /** The source (file:line) of a document. */
    public String documentSource(int docId) {
        checkDoc(docId);
        return docSource[docId];
    }

    /** Tokens of a document. */
    public int documentLength(int docId) {
        checkDoc(docId);
        return docTokens[docId];
    }

    // ---- the feature table -------------------------------------------------------------------------

    public FeaturePage features(FeatureQuery q) {
        int[] order = order(q.sortBy(), q.sortDescending());
        BitSet promoted = q.promotedMatch() == null ? null : promotedMatches(q.promotedMatch());
        List<FeatureSummary> rows = new ArrayList<>();
        int total = 0;
        for (int f : order) {
            if (density[f] < q.minDensity() || density[f] > q.maxDensity()) continue;
            if (promoted != null && !promoted.get(f)) continue;
            if (total >= q.offset() && rows.size() < q.limit()) rows.add(summary(f));
            total++;
        }
        return new FeaturePage(rows, total);
    }

    private int[] order(FeatureColumn c, boolean desc) {
        String key = c + (desc ? "-" : "+");
        synchronized (sortedOrders) {
            int[] o = sortedOrders.get(key);
            if (o != null) return o;
        }
        int n = featureCount();
        long[] keys = new long[n];
        for (int f = 0; f < n; f++) {
            long k = switch (c) {
                case ID -> f;
                case FIRE_COUNT -> fireCount[f];
                case DENSITY -> Double.doubleToLongBits(density[f]);   // non-negative doubles order as their bits
                case MAX_ACTIVATION -> sortableFloat(maxActivation[f]);
                case MEAN_ACTIVATION -> sortableFloat(meanActivation[f]);
            };
            keys[f] = k;
        }
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> {
            int cmp = Long.compare(keys[a], keys[b]);
            if (desc) cmp = -cmp;
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        int[] o = new int[n];
        for (int i = 0; i < n; i++) o[i] = idx[i];
        synchronized (sortedOrders) {
            sortedOrders.put(key, o);
        }
        return o;
    }

    private static long sortableFloat(float f) {
        int b = Float.floatToRawIntBits(f);
        return b ^ ((b >> 31) & 0x7fffffff);
    }

    public FeatureSummary summary(int f) {
        checkFeature(f);
        RunTables.Features.Lists l = lists(f);
        return new FeatureSummary(f, fireCount[f], density[f], maxActivation[f], meanActivation[f], l.promoted(), l.suppressed());
    }

    public Histogram histogram(int f) {
        checkFeature(f);
        RunTables.Features.Lists l = lists(f);
        return new Histogram(l.edges().clone(), l.counts().clone());
    }

    /** Features whose top promoted tokens contain {@code text} (case-insensitive), ids ascending, at most {@code limit}. */
    public List<FeatureSummary> promotedTokenMatches(String text, int limit) {
        return features(FeatureQuery.all().promotedTokenMatching(text).page(0, limit)).rows();
    }

    private BitSet promotedMatches(String text) {
        String needle = text.strip().toLowerCase(Locale.ROOT);
        loadPromoted();
        BitSet tokens = new BitSet();
        for (Map.Entry<Integer, String> e : promotedTexts.entrySet()) {
            if (e.getValue().strip().toLowerCase(Locale.ROOT).contains(needle)) tokens.set(e.getKey());
        }
        BitSet out = new BitSet(featureCount());
        int per = promotedIds.length / Math.max(1, featureCount());
        for (int i = 0; i < promotedIds.length; i++) if (tokens.get(promotedIds[i])) out.set(i / per);
        return out;
    }

    /** The promoted token ids of every feature and the texts of those tokens, read once from features.arrow. */
    private synchronized void loadPromoted() {
        if (promotedTexts != null) return;
        Map<Integer, String> texts = new HashMap<>();
        int n = featureCount();
        int[][] holder = new int[1][];
        Path file = saeDir.resolve(RunLayout.FEATURES);
        try {
            forEachBatch(file, root -> RunTables.Features.promoted(root, file, (f, ids, idTexts) -> {
                if (f < 0 || f >= n) throw new BadInputException(file + ": feature_id " + f + " outside [0, " + n + ")");
                if (holder[0] == null) holder[0] = new int[n * Math.max(1, ids.length)];
                int per = holder[0].length / n;
                Arrays.fill(holder[0], f * per, f * per + per, -1);
                for (int j = 0; j < ids.length && j < per; j++) {
                    holder[0][f * per + j] = ids[j];
                    texts.putIfAbsent(ids[j], idTexts[j]);
                }
            }));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);   // a file that could not be read: the machine failed, not the input
        }
        promotedIds = holder[0] == null ? new int[0] : holder[0];
        promotedTexts = texts;
    }

    // ---- examples and tokens -------------------------------------------------------------------------

    public List<Example> examples(int f, int contextTokens) {
        checkFeature(f);
        List<Example> out = new ArrayList<>();
        RunTables.Examples.Batch b = exampleBatch(f / featuresPerBatch);
        for (int i = 0; i < b.featureId().length; i++) {
            if (b.featureId()[i] != f) continue;
            int doc = b.docId()[i], pos = b.pos()[i];
            checkExample(doc, pos);
            int from = Math.max(0, pos - contextTokens), to = Math.min(docTokens[doc], pos + contextTokens + 1);
            out.add(new Example(b.kind()[i], b.rank()[i], doc, pos, b.activation()[i], window(f, doc, from, to)));
        }
        return out;
    }

    public FeatureCard card(int f, int contextTokens) {
        return new FeatureCard(summary(f), histogram(f), examples(f, contextTokens));
    }

    /** The {@code k} strongest features at a token of the run. */
    public List<FeatureActivation> topFeaturesAt(int docId, int pos, int k) {
        checkToken(docId, pos);
        RunTables.Activations.Batch b = actBatch(docOffset[docId] + pos);
        int lo = b.lowerBound(docId, pos), hi = b.lowerBound(docId, pos + 1);
        List<FeatureActivation> out = new ArrayList<>();
        for (int i = lo; i < hi; i++) out.add(new FeatureActivation(b.featureId()[i], b.activation()[i]));
        out.sort((x, y) -> x.activation() != y.activation() ? Float.compare(y.activation(), x.activation()) : Integer.compare(x.featureId(), y.featureId()));
        return out.size() > k ? List.copyOf(out.subList(0, k)) : out;
    }

    /** The tokens of a document between positions {@code from} (inclusive) and {@code to} (exclusive), with activation 0. */
    public List<ContextToken> tokens(int docId, int from, int to) {
        checkDoc(docId);
        int a = Math.max(0, from), b = Math.min(docTokens[docId], to);
        List<ContextToken> out = new ArrayList<>();
        for (int p = a; p < b; p++) {
            int id = tokenId(docOffset[docId] + p);
            out.add(new ContextToken(p, id, Finisher.tokenText(tokenizer, id), 0f));
        }
        return out;
    }

    /**
     * Feature {@code f}'s activation at positions {@code from} (inclusive) to {@code to} (exclusive) of a document,
     * clipped to it, with the tokens (activation 0 where the feature is inactive): an example's wider context.
     */
    public List<ContextToken> activations(int f, int docId, int from, int to) {
        checkFeature(f);
        checkDoc(docId);
        int a = Math.max(0, from), b = Math.min(docTokens[docId], to);
        return window(f, docId, a, Math.max(a, b));
    }

    /** The activation of feature {@code f} at positions [from, to) of a document, with the tokens. */
    private List<ContextToken> window(int f, int doc, int from, int to) {
        List<ContextToken> out = new ArrayList<>(to - from);
        for (int p = from; p < to; p++) {
            long row = docOffset[doc] + p;
            int id = tokenId(row);
            RunTables.Activations.Batch b = actBatch(row);
            float v = 0f;
            for (int i = b.lowerBound(doc, p), hi = b.lowerBound(doc, p + 1); i < hi; i++) {
                if (b.featureId()[i] == f) {
                    v = b.activation()[i];
                    break;
                }
            }
            out.add(new ContextToken(p, id, Finisher.tokenText(tokenizer, id), v));
        }
        return out;
    }

    private int tokenId(long row) {
        int batch = (int) (row / batchTokens);
        Path file = runDir.resolve(RunLayout.TOKENS);
        RunTables.Tokens.Batch b = cached(new TokensKey(batch), () -> readBatch(file, batch, root -> RunTables.Tokens.Batch.read(root, file)));
        return b.tokenId()[(int) (row % batchTokens)];
    }

    // ---- nearest neighbours by decoder direction ----------------------------------------------------

    /**
     * The {@code k} features whose decoder rows are closest to feature {@code f}'s by cosine similarity, computed
     * now by streaming {@code W_dec} row by row on the SAE's backend threads (nothing of size d_sae × d_model is
     * allocated, so it works for 1M-wide SAEs). {@code sae} must be the run's SAE.
     */
    public List<Neighbour> nearestByDecoder(Sae s, int f, int k) {
        checkFeature(f);
        if (s.dSae() != featureCount() || s.dIn() != sae.dModel()) {
            throw new BadInputException("SAE " + s.config().source() + " is " + s.dIn() + "x" + s.dSae()
                    + " but the run's SAE '" + sae.id() + "' is " + sae.dModel() + "x" + sae.dSae());
        }
        WeightTensor w = s.decoderWeight();
        int d = w.cols(), n = w.rows();
        float[] target = new float[d];
        w.readRow(f, target, 0);
        double tn = 0;
        for (float v : target) tn += (double) v * v;
        double targetNorm = Math.sqrt(tn);
        int workers = Math.max(1, s.backend().threads());
        int chunk = (n + workers - 1) / workers;
        List<List<Neighbour>> partial = new ArrayList<>();
        for (int i = 0; i < workers; i++) partial.add(null);
        s.backend().parallelFor(workers, t -> {
            float[] row = new float[d];
            TopK top = new TopK(k);
            for (int r = t * chunk, end = Math.min(n, r + chunk); r < end; r++) {
                if (r == f) continue;
                w.readRow(r, row, 0);
                double dot = 0, nn = 0;
                for (int i = 0; i < d; i++) {
                    dot += (double) row[i] * target[i];
                    nn += (double) row[i] * row[i];
                }
                double denom = Math.sqrt(nn) * targetNorm;
                top.offer(r, denom == 0 ? 0f : (float) (dot / denom));
            }
            partial.set(t, top.list());
        });
        TopK all = new TopK(k);
        for (List<Neighbour> l : partial) if (l != null) for (Neighbour nb : l) all.offer(nb.featureId(), nb.cosine());
        return all.list();
    }

    /** The k largest (value, then smaller id) of a stream. */
    private static final class TopK {
        final int k;
        final List<Neighbour> items = new ArrayList<>();

        TopK(int k) { this.k = k; }

        void offer(int id, float v) {
            if (k <= 0) return;
            if (items.size() == k) {
                Neighbour last = items.getLast();
                if (v < last.cosine() || (v == last.cosine() && id > last.featureId())) return;
                items.removeLast();
            }
            int i = items.size();
            while (i > 0 && (items.get(i - 1).cosine() < v || (items.get(i - 1).cosine() == v && items.get(i - 1).featureId() > id))) i--;
            items.add(i, new Neighbour(id, v));
        }

        List<Neighbour> list() { return List.copyOf(items); }
    }

    // ---- batches -------------------------------------------------------------------------------------

    /** The cached record batches, keyed by file kind and batch: a key's type says what its batch is. */
    private sealed interface BatchKey<V> permits TokensKey, ActivationsKey, ExamplesKey, FeatureListsKey {}

    private record TokensKey(int batch) implements BatchKey<RunTables.Tokens.Batch> {}

    private record ActivationsKey(int shard, int batch) implements BatchKey<RunTables.Activations.Batch> {}

    private record ExamplesKey(int batch) implements BatchKey<RunTables.Examples.Batch> {}

    private record FeatureListsKey(int batch) implements BatchKey<Map<Integer, RunTables.Features.Lists>> {}

    /** The activation batch holding token row {@code row} of the run. */
    private RunTables.Activations.Batch actBatch(long row) {
        int shard = Arrays.binarySearch(shardFirstToken, row);
        if (shard < 0) shard = -shard - 2;
        int batch = (int) ((row - shardFirstToken[shard]) / batchTokens);
        Path file = saeDir.resolve(RunLayout.shardName(shard));
        return cached(new ActivationsKey(shard, batch), () -> readBatch(file, batch, root -> RunTables.Activations.Batch.read(root, file)));
    }

    private RunTables.Examples.Batch exampleBatch(int batch) {
        Path file = saeDir.resolve(RunLayout.EXAMPLES);
        return cached(new ExamplesKey(batch), () -> readBatch(file, batch, root -> RunTables.Examples.Batch.read(root, file)));
    }

    /** The histogram and logit tables of feature {@code f}, from its features.arrow batch. */
    private RunTables.Features.Lists lists(int f) {
        int batch = f / featuresPerBatch;
        Path file = saeDir.resolve(RunLayout.FEATURES);
        RunTables.Features.Lists l = cached(new FeatureListsKey(batch), () -> readBatch(file, batch, root -> RunTables.Features.lists(root, file))).get(f);
        if (l == null) throw new BadInputException(file + ": feature " + f + " not in batch " + batch);
        return l;
    }

    private interface BatchReader<V> {
        V read(VectorSchemaRoot root) throws IOException;
    }

    private interface Loader<V> {
        V load() throws IOException;
    }

    private <V> V cached(BatchKey<V> key, Loader<V> loader) {
        synchronized (cache) {
            @SuppressWarnings("unchecked")   // put below under the same key, whose type parameter is V
            V v = (V) cache.get(key);
            if (v != null) return v;
        }
        V v;
        try {
            v = loader.load();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);   // a file that could not be read: the machine failed, not the input
        }
        synchronized (cache) {
            cache.put(key, v);
        }
        return v;
    }

    /** Loads record batch {@code batch} of {@code file} through its footer and reads it with {@code r}. */
    private <V> V readBatch(Path file, int batch, BatchReader<V> r) throws IOException {
        synchronized (readers) {
            if (closed) throw new IllegalStateException("feature store is closed");
            ArrowFileReader reader = readers.get(file);
            if (reader == null) {
                if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
                reader = ArrowFiles.open(file, allocator);
                readers.put(file, reader);
            }
            List<ArrowBlock> blocks = reader.getRecordBlocks();
            if (batch < 0 || batch >= blocks.size()) {
                throw new BadInputException(file + ": record batch " + batch + " requested but the file has " + blocks.size());
            }
            if (!reader.loadRecordBatch(blocks.get(batch))) throw new IOException(file + ": record batch " + batch + " could not be read");
            return r.read(reader.getVectorSchemaRoot());
        }
    }

    /** Reads every record batch of a small file in order (documents, the feature table's scalar columns). */
    private void forEachBatch(Path file, ArrowFiles.BatchConsumer r) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
        ArrowFiles.forEachBatch(file, allocator, r);
    }

    /** An example's token must be in the run's documents. */
    private void checkExample(int doc, int pos) {
        if (doc < 0 || doc >= docOffset.length || pos < 0 || pos >= docTokens[doc]) {
            throw new BadInputException(saeDir.resolve(RunLayout.EXAMPLES) + ": an example at document " + doc + ", position " + pos
                    + " is outside the run's documents");
        }
    }

    private void checkFeature(int f) {
        if (f < 0 || f >= featureCount()) throw new BadInputException("feature " + f + " out of range [0, " + featureCount() + ")");
    }

    private void checkDoc(int d) {
        if (d < 0 || d >= docOffset.length) throw new BadInputException("document " + d + " out of range [0, " + docOffset.length + ")");
    }

    private void checkToken(int d, int p) {
        checkDoc(d);
        if (p < 0 || p >= docTokens[d]) throw new BadInputException("position " + p + " out of range [0, " + docTokens[d] + ") in document " + d);
    }

    /** The window length the run used. */
    public int context() { return context; }

    @Override public void close() {
        synchronized (readers) {
            if (closed) return;
            closed = true;
            for (ArrowFileReader r : readers.values()) {
                try {
                    r.close();
                } catch (IOException e) {
                    // closing a read-only file: nothing to recover
                }
            }
            readers.clear();
        }
        synchronized (cache) {
            cache.clear();
        }
        allocator.close();
    }
}
