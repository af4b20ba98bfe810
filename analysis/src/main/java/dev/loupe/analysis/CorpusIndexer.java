package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.hooks.ActivationCache;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeCompatibility;
import dev.loupe.sae.SparseFeatures;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Runs documents through a model and one or more SAEs and writes a corpus run: the library form of
 * {@code loupe index}. Each window runs the model once, to the deepest SAE's hook, without logits. Activation
 * shards (and the matching token parts) are written under a temporary name and renamed; a shard counts as complete
 * once its marker in {@code .partial/} exists. When every document is done, the per-feature summaries are computed
 * from the shards themselves, so a resumed run and an uninterrupted one end with the same bytes. No global state:
 * a distributed engine can run one indexer per partition, each into its own folder.
 */
public final class CorpusIndexer {
    private final IndexJob job;
    private final IndexProgress progress;
    private final RunLayout layout;
    /** run.json as a new run of this job starts it: the identity fields and the run id. */
    private final RunManifest head;
    private final String runId;

    private CorpusIndexer(IndexJob job, IndexProgress progress) { this(job, progress, null); }

    /** With {@code runId} non-null, the files carry that run id (a part's files carry the whole run's). */
    private CorpusIndexer(IndexJob job, IndexProgress progress, String runId) {
        this.job = job;
        this.progress = progress == null ? IndexProgress.NONE : progress;
        this.layout = new RunLayout(job.runDir(), saeIds(job.saes()));
        this.head = head(job, layout, runId);
        this.runId = head.runId();
    }

    /**
     * Indexes {@code documents} into the job's run folder. When that folder holds an interrupted run of the same
     * model, SAEs, corpus and options, it resumes after its last complete shard (skipping the documents already
     * done); when it holds a different run, it fails with one line without touching it. The folder is locked
     * ({@link RunLock}) while the indexer works in it, so a second indexer into the same folder fails at once.
     * A complete run is checked against its run.json (every file present, with its length and checksum); a
     * damaged one is refused, and nothing in it is deleted.
     */
    public static IndexResult index(IndexJob job, Iterator<Document> documents, IndexProgress progress) throws IOException {
        return new CorpusIndexer(job, progress).run(documents);
    }

    /**
     * Indexes one part of a distributed run: {@code documents} are the corpus's documents from {@code firstDoc} on,
     * numbered globally, written as ordinary resumable shards into the job's run folder (the part's folder, which
     * the caller has locked) without the summaries; the files carry {@code runId}, the whole run's. Returns the
     * corpus tokens the part's complete shards hold.
     */
    static long indexPart(IndexJob job, String runId, int firstDoc, Iterator<Document> documents, IndexProgress progress) throws IOException {
        CorpusIndexer ix = new CorpusIndexer(job, progress, runId);
        for (IndexJob.RunSae s : job.saes()) SaeCompatibility.require(s.sae(), job.model());
        try (BufferAllocator allocator = new RootAllocator()) {
            Resume resume = ix.prepareFolder(allocator);
            if (resume.complete) throw new BadInputException(job.runDir() + ": a finished run, not a part of one");
            return ix.new Pass(allocator, resume, firstDoc).run(documents);
        }
    }

    /**
     * Checks the run folder of a job indexed elsewhere (by parts): creates it with the head of its run.json, or
     * checks that its run.json is this job's (and, when complete, its files); returns whether the run is complete.
     */
    static boolean prepareRun(IndexJob job) throws IOException {
        CorpusIndexer ix = new CorpusIndexer(job, IndexProgress.NONE);
        try (BufferAllocator allocator = new RootAllocator()) {
            return ix.checkOrCreate(allocator) == Boolean.TRUE;
        }
    }

    /** The head of {@code job}'s run.json (with its own run id). */
    static RunManifest headOf(IndexJob job) { return head(job, layoutOf(job), null); }

    static RunLayout layoutOf(IndexJob job) { return new RunLayout(job.runDir(), saeIds(job.saes())); }

    private IndexResult run(Iterator<Document> documents) throws IOException {
        long started = System.nanoTime();
        for (IndexJob.RunSae s : job.saes()) SaeCompatibility.require(s.sae(), job.model());
        Path dir = job.runDir();
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new BadInputException(dir + ": exists and is not a folder");
        try (RunLock lock = RunLock.acquire(dir); BufferAllocator allocator = new RootAllocator()) {
            Resume resume = prepareFolder(allocator);
            if (!resume.complete) {
                progress.phase(resume.shards > 0 ? "resume" : "index");
                new Pass(allocator, resume, 0).run(documents);
            }
            // A complete run was checked in prepareFolder; the finisher only reads its run.json.
            if (!resume.complete) progress.phase("summarise");
            IndexResult r = new Finisher(job, layout, head, allocator, progress).finish(started);
            long resumed = resume.complete ? r.tokens() : resume.tokens;
            return new IndexResult(r.runDir(), r.documents(), r.tokens(), resumed, r.activeRows(), r.shardBytes(), r.shards(), r.seconds());
        }
    }

    // ---- identity and resume -------------------------------------------------------------------------

    private static List<String> saeIds(List<IndexJob.RunSae> saes) {
        List<String> ids = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (IndexJob.RunSae s : saes) {
            String name = Path.of(s.path()).normalize().getFileName() == null ? "sae" : Path.of(s.path()).normalize().getFileName().toString();
            String base = name.replaceAll("[^A-Za-z0-9._-]", "_");
            if (base.isEmpty() || base.startsWith(".")) base = "sae" + base;
            String hook = s.sae().hookName().replaceAll("[^A-Za-z0-9._-]", "_");
            String id = saes.size() == 1 ? base : hook + "-" + base;
            for (int k = 2; !seen.add(id); k++) id = hook + "-" + base + "-" + k;
            ids.add(id);
        }
        return ids;
    }

    /**
     * What makes two runs the same run (compared on resume, written at the head of run.json) and the run id: its
     * own, or {@code runId} when given (a part of a distributed run carries the whole run's).
     */
    private static RunManifest head(IndexJob job, RunLayout layout, String runId) {
        Path mp = Path.of(job.modelPath()).normalize().getFileName();
        var config = job.model().config();
        RunManifest.ModelEntry model = new RunManifest.ModelEntry(job.modelPath(), mp == null ? job.modelPath() : mp.toString(),
                config.numLayers(), config.hiddenSize(), config.vocabSize());
        List<RunManifest.SaeEntry> saes = new ArrayList<>();
        for (int i = 0; i < job.saes().size(); i++) {
            Sae s = job.saes().get(i).sae();
            saes.add(new RunManifest.SaeEntry(layout.saeIds().get(i), layout.saeDirName(i), job.saes().get(i).path(), s.hookName(),
                    s.dSae(), s.dIn(), s.architecture().saeLensName()));
        }
        return RunManifest.start(model, saes, new RunManifest.CorpusEntry(job.corpus().path(), job.corpus().sha256()),
                RunManifest.Options.of(job.options(), Finisher.FEATURES_PER_BATCH), runId);
    }

    /** Where an earlier attempt stopped. */
    private record Resume(int shards, long tokens, int nextDoc, int nextWindow, boolean complete) {}

    private Resume prepareFolder(BufferAllocator allocator) throws IOException {
        Boolean complete = checkOrCreate(allocator);
        if (complete == null) return new Resume(0, 0, 0, 0, false);
        if (complete) return new Resume(0, RunManifest.read(layout.runJson()).tokens(), 0, 0, true);
        return scanShards(allocator);
    }

    /** Null for a new run folder (created, with the head of run.json), else whether the run there is complete. */
    private Boolean checkOrCreate(BufferAllocator allocator) throws IOException {
        Path dir = job.runDir();
        Path runJson = layout.runJson();
        if (Files.isRegularFile(runJson)) {
            RunManifest old;
            try {
                old = RunManifest.read(runJson);
            } catch (BadInputException e) {
                throw new BadInputException(e.getMessage() + "; refusing to reuse " + dir + ": nothing was changed or deleted; index into a new folder");
            }
            String diff = difference(head.identityJson(), old.identityJson());
            if (diff != null) {
                throw new BadInputException(dir + " holds a different corpus run (" + diff + "); refusing to overwrite it: choose another --out");
            }
            if (old.complete()) {
                progress.phase("check");
                try {
                    RunCheck.checkFiles(dir, old, f -> true, allocator);
                } catch (BadInputException e) {
                    throw new BadInputException(e.getMessage() + "; " + dir + " holds a complete run that is damaged:"
                            + " nothing was changed or deleted; index into a new folder");
                }
                return true;
            }
            return false;
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                // A RunLock's file is the claim of whoever is about to write here, not content.
                if (s.anyMatch(f -> !f.getFileName().toString().equals(RunLock.FILE))) throw new BadInputException(dir + " is not empty and holds no run.json; refusing to write a corpus run into it");
            }
        }
        Files.createDirectories(dir);
        head.write(runJson);
        return null;
    }

    /** The first identity field that differs between this job and an existing run.json, or null. */
    private static String difference(JsonNode want, JsonNode have) {
        for (var it = want.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            JsonNode h = have.get(e.getKey());
            if (h == null) return "its run.json has no '" + e.getKey() + "'";
            if (!e.getValue().equals(h)) {
                if (e.getValue().isObject() && h.isObject()) {
                    String inner = difference(e.getValue(), h);
                    if (inner != null) return e.getKey() + "." + inner;
                }
                return e.getKey() + ": " + brief(h) + ", this run: " + brief(e.getValue());
            }
        }
        return null;
    }

    private static String brief(JsonNode n) {
        String s = n.toString();
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    /**
     * Finds the complete shards of an interrupted run, checks their files against their markers, and deletes
     * whatever a crash left after them (files of the shard that was being written, stray temporaries).
     */
    private Resume scanShards(BufferAllocator allocator) throws IOException {
        int shards = 0;
        long tokens = 0;
        int nextDoc = 0, nextWindow = 0;
        while (Files.isRegularFile(layout.marker(shards))) {
            Path marker = layout.marker(shards);
            ShardMarker m;
            try {
                m = ShardMarker.read(marker, shards, layout.saeIds().size());
                RunCheck.checkMarkerFiles(job.runDir(), m, runId, allocator);
            } catch (BadInputException e) {
                throw new BadInputException(e.getMessage() + "; the interrupted run in " + job.runDir() + " cannot resume after a damaged shard:"
                        + " nothing was deleted; index into a new folder");
            }
            tokens = m.firstToken() + m.tokens();
            nextDoc = m.nextDoc();
            nextWindow = m.nextWindow();
            shards++;
        }
        // Files of the shard that was being written (and stray temporaries) go; complete shards stay as they are.
        Files.createDirectories(layout.partial());
        for (int i = 0; i < layout.saeIds().size(); i++) {
            Path d = layout.saeDir(i);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.list(d)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    // Temporary files only: the run's work folder is called .partial too.
                    if (n.endsWith(AtomicFiles.SUFFIX) && Files.isRegularFile(p)) Files.delete(p);
                    else if (n.startsWith("activations-") && n.endsWith(".arrow") && shardNumber(n) >= shards) Files.delete(p);
                }
            }
        }
        try (Stream<Path> s = Files.list(layout.partial())) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if ((n.endsWith(AtomicFiles.SUFFIX) && Files.isRegularFile(p)) || (n.startsWith("tokens-") && shardNumber(n) >= shards)) Files.delete(p);
            }
        }
        return new Resume(shards, tokens, nextDoc, nextWindow, false);
    }

    private static int shardNumber(String name) {
        try {
            return Integer.parseInt(name.replaceAll("\\D", ""));
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    // ---- the pass over the corpus -----------------------------------------------------------------------

    /** One pass over the documents: windows through the model, rows into shards. */
    private final class Pass {
        private final BufferAllocator allocator;
        private final IndexOptions o = job.options();
        private final int bos;
        private final int vocab;
        private final int stopAfter;
        private final String[] hooks;
        private int shard;
        private long tokens;
        private Shard open;

        private final int firstDoc;

        Pass(BufferAllocator allocator, Resume resume, int firstDoc) {
            this.allocator = allocator;
            this.firstDoc = firstDoc;
            this.shard = resume.shards;
            this.tokens = resume.tokens;
            this.bos = job.model().config().bosId();
            this.vocab = job.model().config().vocabSize();
            int layers = job.model().config().numLayers();
            int deepest = -1;
            Set<String> hs = new LinkedHashSet<>();
            for (IndexJob.RunSae s : job.saes()) {
                String h = s.sae().hookName();
                hs.add(h);
                deepest = Math.max(deepest, job.model().hookPoints().layerOf(job.model().hookPoints().id(h)));
            }
            this.hooks = hs.toArray(String[]::new);
            this.stopAfter = deepest >= layers ? -1 : Math.max(0, deepest);
            this.resume = resume;
        }

        private final Resume resume;

        long run(Iterator<Document> documents) throws IOException {
            long total = o.maxTokens() > 0 ? o.maxTokens() : -1;
            progress.tokens(tokens, total);
            int docId = firstDoc - 1;
            try {
                while (documents.hasNext() && !budgetSpent()) {
                    Document d = documents.next();
                    docId++;
                    if (docId < resume.nextDoc) continue;
                    int[] ids = tokens(d);
                    int first = docId == resume.nextDoc ? resume.nextWindow : 0;
                    indexDocument(docId, d.source(), ids, first);
                }
                if (open != null) closeShard(docId + 1, 0);
            } finally {
                if (open != null) open.abandon();
            }
            return tokens;
        }

        private boolean budgetSpent() { return o.maxTokens() > 0 && tokens >= o.maxTokens(); }

        private int[] tokens(Document d) {
            int[] ids;
            if (d.tokens() != null) {
                ids = d.tokens();
                if (ids.length == 0 || ids[0] != bos) {
                    int[] withBos = new int[ids.length + 1];
                    withBos[0] = bos;
                    System.arraycopy(ids, 0, withBos, 1, ids.length);
                    ids = withBos;
                }
                for (int i = 0; i < ids.length; i++) {
                    if (ids[i] < 0 || ids[i] >= vocab) {
                        throw new BadInputException(d.source() + ": token id " + ids[i] + " is outside the model's vocabulary [0, " + vocab + ")");
                    }
                }
            } else {
                ids = job.model().tokenizer().encode(d.text(), true);
            }
            return ids;
        }

        /** Windows {@code first...} of one document. Window 0 is tokens [0, C); window j ≥ 1 is {@code <bos>} + the next C-1 tokens. */
        private void indexDocument(int docId, String source, int[] ids, int firstWindow) throws IOException {
            int c = o.context();
            for (int w = firstWindow; ; w++) {
                int a = windowStart(w, c);
                if (a >= ids.length || budgetSpent()) return;
                int b = Math.min(ids.length, w == 0 ? c : a + c - 1);
                if (o.maxTokens() > 0) b = (int) Math.min(b, a + (o.maxTokens() - tokens));
                int skip = w == 0 ? 0 : 1;
                int[] input = new int[b - a + skip];
                if (skip == 1) input[0] = bos;
                System.arraycopy(ids, a, input, skip, b - a);
                RunOptions ro = RunOptions.caching(hooks).withLogits(RunOptions.Logits.NONE);
                if (stopAfter >= 0) ro = ro.stopAfter(stopAfter);
                ActivationCache cache = job.model().run(input, ro).cache();
                SparseFeatures[] feats = new SparseFeatures[job.saes().size()];
                for (int s = 0; s < feats.length; s++) {
                    Sae sae = job.saes().get(s).sae();
                    // The whole window, <bos> row included, is encoded: the rows then equal encode() of the window's
                    // tokens exactly (blocked kernels group rows by count, so a sliced input could round differently).
                    feats[s] = sae.encode(cache.get(sae.hookName()));
                }
                if (open == null) open = new Shard(shard, tokens);
                open.add(docId, source, a, ids, b - a, skip, feats);
                tokens += b - a;
                progress.tokens(tokens, o.maxTokens() > 0 ? o.maxTokens() : -1);
                if (open.tokens >= o.shardTokens()) closeShard(docId, w + 1);
            }
        }

        private void closeShard(int nextDoc, int nextWindow) throws IOException {
            open.finish(nextDoc, nextWindow);
            open = null;
            shard++;
        }

        /** The shard being written: one activation file per SAE plus the token part and, last, its marker. */
        private final class Shard {
            final int index;
            final long firstToken;
            long tokens;
            final RowsWriter tokenPart;
            final RowsWriter[] activations;
            final List<ShardMarker.DocumentPiece> docs = new ArrayList<>();
            private long[] scratch = new long[64];

            Shard(int index, long firstToken) throws IOException {
                this.index = index;
                this.firstToken = firstToken;
                Files.createDirectories(layout.partial());
                this.tokenPart = RowsWriter.tokens(layout.tokenPart(index), Finisher.metadata(job, runId, -1), Compression.NONE, allocator,
                        o.batchTokens());
                this.activations = new RowsWriter[job.saes().size()];
                try {
                    for (int s = 0; s < activations.length; s++) {
                        Files.createDirectories(layout.saeDir(s));
                        activations[s] = RowsWriter.activations(layout.shard(s, index), Finisher.metadata(job, runId, s), o.compression(),
                                allocator, o.batchTokens());
                    }
                } catch (IOException | RuntimeException e) {
                    abandon();
                    throw e;
                }
            }

            void add(int docId, String source, int start, int[] ids, int n, int skip, SparseFeatures[] feats) throws IOException {
                if (docs.isEmpty() || docs.getLast().docId() != docId) {
                    docs.add(new ShardMarker.DocumentPiece(docId, source, start, firstToken + tokens, 0));
                }
                docs.set(docs.size() - 1, docs.getLast().plus(n));
                for (int r = 0; r < n; r++) {
                    int pos = start + r;
                    tokenPart.add(docId, pos, ids[pos], 0f);
                    tokenPart.endToken();
                    for (int s = 0; s < feats.length; s++) {
                        SparseFeatures f = feats[s];
                        int l0 = f.l0(r + skip);
                        if (scratch.length < l0) scratch = new long[Math.max(l0, scratch.length * 2)];
                        int[] fid = f.ids(r + skip);
                        float[] val = f.values(r + skip);
                        // Rows of a token in feature-id order: a stable layout whatever order the encoder used.
                        for (int i = 0; i < l0; i++) scratch[i] = ((long) fid[i] << 32) | (Float.floatToRawIntBits(val[i]) & 0xffffffffL);
                        Arrays.sort(scratch, 0, l0);
                        for (int i = 0; i < l0; i++) {
                            activations[s].add(docId, pos, (int) (scratch[i] >>> 32), Float.intBitsToFloat((int) scratch[i]));
                        }
                        activations[s].endToken();
                    }
                }
                tokens += n;
            }

            /** Publishes the activation files, then the token part, then the marker that makes the shard count. */
            void finish(int nextDoc, int nextWindow) throws IOException {
                List<RunManifest.FileEntry> files = new ArrayList<>();
                for (int s = 0; s < activations.length; s++) {
                    files.add(RunManifest.FileEntry.of(job.runDir(), layout.shard(s, index), activations[s].finish()));
                }
                files.add(RunManifest.FileEntry.of(job.runDir(), layout.tokenPart(index), tokenPart.finish()));
                List<Long> rows = new ArrayList<>();
                for (RowsWriter w : activations) rows.add(w.rows());
                new ShardMarker(index, firstToken, tokens, nextDoc, nextWindow, rows, docs, files).write(layout.marker(index));
                for (RowsWriter w : activations) w.close();
                tokenPart.close();
            }

            void abandon() throws IOException {
                for (RowsWriter w : activations) if (w != null) w.close();
                tokenPart.close();
            }
        }
    }

    /** First document position of window {@code w} for context {@code c}. */
    static int windowStart(int w, int c) { return w == 0 ? 0 : c + (w - 1) * (c - 1); }

    /** The window holding document position {@code pos}. */
    static int windowOf(int pos, int c) { return pos < c ? 0 : 1 + (pos - c) / (c - 1); }

    static String describe(long n) { return String.format(Locale.ROOT, "%,d", n); }
}
