package dev.loupe.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.tokenizer.Tokenizers;
import dev.loupe.sae.Sae;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
    private final RunInfo info;
    private final RunInfo.SaeEntry sae;
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
    private final Map<String, ArrowFileReader> readers = new HashMap<>();
    private final Map<String, Object> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, Object> e) { return size() > CACHED_BATCHES; }
    };
    private final Map<String, int[]> sortedOrders = new HashMap<>();
    private Map<Integer, String> promotedTexts;
    private int[] promotedIds;
    private boolean closed;

    private FeatureStore(Path runDir, RunInfo info, RunInfo.SaeEntry sae, Tokenizer tokenizer, JsonNode runJson) throws IOException {
        this.runDir = runDir;
        this.info = info;
        this.sae = sae;
        this.saeDir = runDir.resolve(sae.dir()).normalize();
        this.tokenizer = tokenizer;
        JsonNode opts = runJson.path("options");
        this.batchTokens = opts.path("batch_tokens").asInt(256);
        this.featuresPerBatch = opts.path("features_per_batch").asInt(1024);
        this.context = opts.path("context").asInt(1024);
        JsonNode shards = runJson.path("shards");
        shardFirstToken = new long[shards.size()];
        Path runJsonFile = runDir.resolve(RunLayout.RUN_JSON);
        long expectFirst = 0;
        for (int i = 0; i < shardFirstToken.length; i++) {
            shardFirstToken[i] = shards.get(i).path("first_token").asLong(-1);
            if (shardFirstToken[i] != expectFirst) {
                throw new BadInputException(runJsonFile + ": shards[" + i + "].first_token is " + shards.get(i).path("first_token")
                        + ", expected " + expectFirst + " (the tokens of the shards before it)");
            }
            expectFirst += shards.get(i).path("tokens").asLong();
        }
        if (shardFirstToken.length == 0 || expectFirst != info.tokens()) {
            throw new BadInputException(runJsonFile + ": the shards hold " + expectFirst + " tokens but \"tokens\" is " + info.tokens());
        }
        try {
            // documents
            List<long[]> docs = new ArrayList<>();
            List<String> sources = new ArrayList<>();
            forEachBatch(runDir.resolve(RunLayout.DOCUMENTS), root -> {
                IntVector c = (IntVector) root.getVector("token_count");
                BigIntVector o = (BigIntVector) root.getVector("token_offset");
                VarCharVector s = (VarCharVector) root.getVector("source");
                for (int i = 0; i < root.getRowCount(); i++) {
                    docs.add(new long[]{o.get(i), c.get(i)});
                    sources.add(new String(s.get(i), StandardCharsets.UTF_8));
                }
            });
            docOffset = new long[docs.size()];
            docTokens = new int[docs.size()];
            for (int i = 0; i < docs.size(); i++) {
                docOffset[i] = docs.get(i)[0];
                docTokens[i] = (int) docs.get(i)[1];
            }
            docSource = sources.toArray(String[]::new);
            for (int i = 0; i < docOffset.length; i++) {
                if (docOffset[i] < 0 || docTokens[i] < 0 || docOffset[i] + docTokens[i] > info.tokens()) {
                    throw new BadInputException(runDir.resolve(RunLayout.DOCUMENTS) + ": document " + i + " spans tokens ["
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
            forEachBatch(saeDir.resolve(RunLayout.FEATURES), root -> {
                IntVector id = (IntVector) root.getVector("feature_id");
                BigIntVector fc = (BigIntVector) root.getVector("fire_count");
                Float8Vector d = (Float8Vector) root.getVector("density");
                Float4Vector mx = (Float4Vector) root.getVector("max_activation"), mn = (Float4Vector) root.getVector("mean_activation");
                for (int i = 0; i < root.getRowCount(); i++) {
                    int f = id.get(i);
                    if (f < 0 || f >= n) throw new BadInputException(saeDir.resolve(RunLayout.FEATURES) + ": feature_id " + f + " outside [0, " + n + ")");
                    fireCount[f] = fc.get(i);
                    density[f] = d.get(i);
                    maxActivation[f] = mx.get(i);
                    meanActivation[f] = mn.get(i);
                    seen[0]++;
                }
            });
            if (seen[0] != n) throw new BadInputException(saeDir.resolve(RunLayout.FEATURES) + ": " + seen[0] + " rows, expected d_sae = " + n);
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
        JsonNode json;
        try {
            json = CorpusIndexer.JSON.readTree(runJson.toFile());
        } catch (IOException e) {
            throw new BadInputException(runJson + ": not valid JSON");
        }
        RunInfo info = RunInfoJson.parse(json, runJson);
        if (!info.complete()) {
            throw new BadInputException(runDir + ": the corpus run is not complete (rerun the same loupe index command to resume it)");
        }
        RunInfo.SaeEntry entry = saeId == null ? info.saes().getFirst() : info.sae(saeId);
        // First: a run id is a hash anyone can recompute, so an edited run.json may pass the checks below.
        requireInside(runDir, entry, runJson);
        RunCheck.checkRunJson(runJson, json);
        // Every file this SAE's pages read (its own and the shared tokens and documents), byte for byte.
        String own = entry.dir().equals(".") ? "" : entry.dir() + "/";
        try (BufferAllocator check = new RootAllocator()) {
            RunCheck.checkFiles(runDir, json, rel -> !rel.contains("/") || rel.startsWith(own), check);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage() + "; the run is damaged: index the corpus again into a new folder");
        }
        Tokenizer tok = tokenizer != null ? tokenizer : modelTokenizer(runDir, info.model());
        return new FeatureStore(runDir, info, entry, tok, json);
    }

    /**
     * An SAE's files live in the run folder: a {@code dir} that climbs out of it ({@code ../..}, an absolute path)
     * would have the store read files elsewhere on the machine.
     */
    private static void requireInside(Path runDir, RunInfo.SaeEntry entry, Path runJson) {
        String dir = entry.dir() == null ? "." : entry.dir();
        Path root = runDir.toAbsolutePath().normalize();
        Path resolved;
        try {
            resolved = root.resolve(dir).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            resolved = null;
        }
        if (resolved == null || !resolved.startsWith(root)) {
            throw new BadInputException(runJson + ": SAE '" + entry.id() + "' has dir \"" + dir
                    + "\", which is outside the run folder; an SAE's dir must be a sub-folder of the run (or \".\")");
        }
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

    public RunInfo info() { return info; }

    public RunInfo.SaeEntry sae() { return sae; }

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
        FeatureLists l = lists(f);
        return new FeatureSummary(f, fireCount[f], density[f], maxActivation[f], meanActivation[f], l.promoted, l.suppressed);
    }

    public Histogram histogram(int f) {
        checkFeature(f);
        FeatureLists l = lists(f);
        return new Histogram(l.edges.clone(), l.counts.clone());
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
        try {
            forEachBatch(saeDir.resolve(RunLayout.FEATURES), root -> {
                IntVector id = (IntVector) root.getVector("feature_id");
                ListVector ids = (ListVector) root.getVector("top_promoted_ids");
                ListVector toks = (ListVector) root.getVector("top_promoted_tokens");
                IntVector idData = (IntVector) ids.getDataVector();
                VarCharVector tokData = (VarCharVector) toks.getDataVector();
                for (int i = 0; i < root.getRowCount(); i++) {
                    int f = id.get(i);
                    int s = ids.getElementStartIndex(i), e = ids.getElementEndIndex(i), ts = toks.getElementStartIndex(i);
                    if (holder[0] == null) holder[0] = new int[n * Math.max(1, e - s)];
                    int per = holder[0].length / n;
                    Arrays.fill(holder[0], f * per, f * per + per, -1);
                    for (int j = s; j < e && j - s < per; j++) {
                        int t = idData.get(j);
                        holder[0][f * per + j - s] = t;
                        int at = ts + j - s;
                        texts.computeIfAbsent(t, k -> new String(tokData.get(at), StandardCharsets.UTF_8));
                    }
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        promotedIds = holder[0] == null ? new int[0] : holder[0];
        promotedTexts = texts;
    }

    // ---- examples and tokens -------------------------------------------------------------------------

    public List<Example> examples(int f, int contextTokens) {
        checkFeature(f);
        List<Example> out = new ArrayList<>();
        ExampleBatch b = exampleBatch(f / featuresPerBatch);
        for (int i = 0; i < b.feature.length; i++) {
            if (b.feature[i] != f) continue;
            int doc = b.doc[i], pos = b.pos[i];
            int from = Math.max(0, pos - contextTokens), to = Math.min(docTokens[doc], pos + contextTokens + 1);
            out.add(new Example(b.kind[i], b.rank[i], doc, pos, b.activation[i], window(f, doc, from, to)));
        }
        return out;
    }

    public FeatureCard card(int f, int contextTokens) {
        return new FeatureCard(summary(f), histogram(f), examples(f, contextTokens));
    }

    /** The {@code k} strongest features at a token of the run. */
    public List<FeatureActivation> topFeaturesAt(int docId, int pos, int k) {
        checkToken(docId, pos);
        ActBatch b = actBatch(docOffset[docId] + pos);
        int lo = b.lowerBound(docId, pos), hi = b.lowerBound(docId, pos + 1);
        List<FeatureActivation> out = new ArrayList<>();
        for (int i = lo; i < hi; i++) out.add(new FeatureActivation(b.feature[i], b.activation[i]));
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
            ActBatch b = actBatch(row);
            float v = 0f;
            for (int i = b.lowerBound(doc, p), hi = b.lowerBound(doc, p + 1); i < hi; i++) {
                if (b.feature[i] == f) {
                    v = b.activation[i];
                    break;
                }
            }
            out.add(new ContextToken(p, id, Finisher.tokenText(tokenizer, id), v));
        }
        return out;
    }

    private int tokenId(long row) {
        int batch = (int) (row / batchTokens);
        int[] ids = (int[]) cached("t" + batch, () -> {
            int[][] h = new int[1][];
            readBatch(runDir.resolve(RunLayout.TOKENS), batch, root -> {
                IntVector t = (IntVector) root.getVector("token_id");
                int[] a = new int[root.getRowCount()];
                for (int i = 0; i < a.length; i++) a[i] = t.get(i);
                h[0] = a;
            });
            return h[0];
        });
        return ids[(int) (row % batchTokens)];
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

    /** Rows of one activation record batch, sorted by (doc, pos). */
    private record ActBatch(int[] doc, int[] pos, int[] feature, float[] activation) {
        int lowerBound(int d, int p) {
            int lo = 0, hi = doc.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (doc[mid] < d || (doc[mid] == d && pos[mid] < p)) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }
    }

    private ActBatch actBatch(long row) {
        int shard = Arrays.binarySearch(shardFirstToken, row);
        if (shard < 0) shard = -shard - 2;
        int batch = (int) ((row - shardFirstToken[shard]) / batchTokens);
        Path file = saeDir.resolve(RunLayout.shardName(shard));
        return (ActBatch) cached("a" + shard + ":" + batch, () -> {
            ActBatch[] h = new ActBatch[1];
            readBatch(file, batch, root -> {
                int n = root.getRowCount();
                IntVector dv = (IntVector) root.getVector("doc_id"), pv = (IntVector) root.getVector("pos"),
                        fv = (IntVector) root.getVector("feature_id");
                Float4Vector av = (Float4Vector) root.getVector("activation");
                int[] d = new int[n], p = new int[n], f = new int[n];
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    d[i] = dv.get(i);
                    p[i] = pv.get(i);
                    f[i] = fv.get(i);
                    a[i] = av.get(i);
                }
                h[0] = new ActBatch(d, p, f, a);
            });
            return h[0];
        });
    }

    private record ExampleBatch(int[] feature, String[] kind, int[] rank, int[] doc, int[] pos, float[] activation) {}

    private ExampleBatch exampleBatch(int batch) {
        return (ExampleBatch) cached("e" + batch, () -> {
            ExampleBatch[] h = new ExampleBatch[1];
            readBatch(saeDir.resolve(RunLayout.EXAMPLES), batch, root -> {
                int n = root.getRowCount();
                IntVector fv = (IntVector) root.getVector("feature_id"), rv = (IntVector) root.getVector("rank"),
                        dv = (IntVector) root.getVector("doc_id"), pv = (IntVector) root.getVector("pos");
                VarCharVector kv = (VarCharVector) root.getVector("kind");
                Float4Vector av = (Float4Vector) root.getVector("activation");
                int[] f = new int[n], r = new int[n], d = new int[n], p = new int[n];
                String[] k = new String[n];
                float[] a = new float[n];
                Map<String, String> interned = new HashMap<>();
                for (int i = 0; i < n; i++) {
                    f[i] = fv.get(i);
                    r[i] = rv.get(i);
                    d[i] = dv.get(i);
                    p[i] = pv.get(i);
                    a[i] = av.get(i);
                    String s = new String(kv.get(i), StandardCharsets.UTF_8);
                    k[i] = interned.computeIfAbsent(s, x -> x);
                }
                h[0] = new ExampleBatch(f, k, r, d, p, a);
            });
            return h[0];
        });
    }

    /** Histogram and logit tables of the features of one features.arrow batch. */
    private record FeatureLists(float[] edges, long[] counts, List<TokenValue> promoted, List<TokenValue> suppressed) {}

    private FeatureLists lists(int f) {
        int batch = f / featuresPerBatch;
        @SuppressWarnings("unchecked")
        Map<Integer, FeatureLists> m = (Map<Integer, FeatureLists>) cached("f" + batch, () -> {
            Map<Integer, FeatureLists> out = new HashMap<>();
            readBatch(saeDir.resolve(RunLayout.FEATURES), batch, root -> {
                IntVector id = (IntVector) root.getVector("feature_id");
                for (int i = 0; i < root.getRowCount(); i++) {
                    out.put(id.get(i), new FeatureLists(floats(root, "hist_edges", i), longs(root, "hist_counts", i),
                            tokenValues(root, "top_promoted", i), tokenValues(root, "top_suppressed", i)));
                }
            });
            return out;
        });
        FeatureLists l = m.get(f);
        if (l == null) throw new BadInputException(saeDir.resolve(RunLayout.FEATURES) + ": feature " + f + " not in batch " + batch);
        return l;
    }

    private static float[] floats(VectorSchemaRoot root, String col, int row) {
        ListVector l = (ListVector) root.getVector(col);
        Float4Vector data = (Float4Vector) l.getDataVector();
        int s = l.getElementStartIndex(row), e = l.getElementEndIndex(row);
        float[] out = new float[e - s];
        for (int i = s; i < e; i++) out[i - s] = data.get(i);
        return out;
    }

    private static long[] longs(VectorSchemaRoot root, String col, int row) {
        ListVector l = (ListVector) root.getVector(col);
        BigIntVector data = (BigIntVector) l.getDataVector();
        int s = l.getElementStartIndex(row), e = l.getElementEndIndex(row);
        long[] out = new long[e - s];
        for (int i = s; i < e; i++) out[i - s] = data.get(i);
        return out;
    }

    private static List<TokenValue> tokenValues(VectorSchemaRoot root, String prefix, int row) {
        ListVector ids = (ListVector) root.getVector(prefix + "_ids"), vals = (ListVector) root.getVector(prefix + "_values"),
                toks = (ListVector) root.getVector(prefix + "_tokens");
        IntVector idData = (IntVector) ids.getDataVector();
        Float4Vector valData = (Float4Vector) vals.getDataVector();
        VarCharVector tokData = (VarCharVector) toks.getDataVector();
        int s = ids.getElementStartIndex(row), e = ids.getElementEndIndex(row);
        int ts = toks.getElementStartIndex(row), vs = vals.getElementStartIndex(row);
        List<TokenValue> out = new ArrayList<>(e - s);
        for (int i = 0; i < e - s; i++) {
            out.add(new TokenValue(idData.get(s + i), new String(tokData.get(ts + i), StandardCharsets.UTF_8), valData.get(vs + i)));
        }
        return out;
    }

    private interface BatchReader {
        void read(VectorSchemaRoot root) throws IOException;
    }

    private interface Loader {
        Object load() throws IOException;
    }

    private Object cached(String key, Loader loader) {
        synchronized (cache) {
            Object v = cache.get(key);
            if (v != null) return v;
        }
        Object v;
        try {
            v = loader.load();
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        synchronized (cache) {
            cache.put(key, v);
        }
        return v;
    }

    /** Loads record batch {@code batch} of {@code file} through its footer and hands it to {@code r}. */
    private void readBatch(Path file, int batch, BatchReader r) throws IOException {
        String key = file.toString();
        synchronized (readers) {
            if (closed) throw new IllegalStateException("feature store is closed");
            ArrowFileReader reader = readers.get(key);
            if (reader == null) {
                if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
                reader = ArrowFiles.open(file, allocator);
                readers.put(key, reader);
            }
            List<ArrowBlock> blocks = reader.getRecordBlocks();
            if (batch < 0 || batch >= blocks.size()) {
                throw new BadInputException(file + ": record batch " + batch + " requested but the file has " + blocks.size());
            }
            if (!reader.loadRecordBatch(blocks.get(batch))) throw new IOException(file + ": record batch " + batch + " could not be read");
            r.read(reader.getVectorSchemaRoot());
        }
    }

    /** Reads every record batch of a small file in order (documents, the feature table's scalar columns). */
    private void forEachBatch(Path file, BatchReader r) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
        try (ArrowFileReader reader = ArrowFiles.open(file, allocator)) {
            while (reader.loadNextBatch()) r.read(reader.getVectorSchemaRoot());
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
