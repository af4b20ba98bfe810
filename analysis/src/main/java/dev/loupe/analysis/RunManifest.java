package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.io.LoupeJson;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A corpus run's {@code run.json}: read and written only here, checked once when read. Its head (the identity fields,
 * the Loupe version, the run id) is written when a run starts; {@link #contents()} (counts, shards and every file's
 * length and checksum) when it completes.
 *
 * @param formatVersion the run-folder format ({@link #FORMAT_VERSION})
 * @param loupeVersion  the Loupe version that wrote the run
 * @param runId         the hash of the identity fields every file of the run carries (see {@link #runId(JsonNode)})
 * @param model         the model the run used
 * @param saes          the SAEs of the run, in the order given
 * @param corpus        what the run is over
 * @param options       the options that shaped the files
 * @param contents      what a complete run holds; null while it is being written or was interrupted
 */
public record RunManifest(int formatVersion, String loupeVersion, String runId, ModelEntry model, List<SaeEntry> saes,
                          CorpusEntry corpus, Options options, Contents contents) {
    static final String FORMAT = "loupe-corpus-run";
    /** 2: run.json carries a run id and every file's checksum; the files carry the run id (see {@link RunCheck}). */
    static final int FORMAT_VERSION = 2;
    static final String LOUPE_VERSION = "0.1.0";

    public RunManifest {
        saes = List.copyOf(saes);
    }

    /**
     * The model of a run.
     *
     * @param path the model path as given to {@code index}
     * @param name a short name for the model (its folder or file name)
     */
    public record ModelEntry(String path, String name, int layers, int dModel, int vocabSize) {}

    /**
     * One SAE of a run.
     *
     * @param id           the SAE's id in the run (its sub-folder name with several SAEs)
     * @param dir          the folder of its files relative to the run folder ({@code "."} for a single-SAE run)
     * @param path         the SAE folder as given to {@code index}
     * @param hook         the hook point it reads
     * @param architecture its SAELens architecture name
     */
    public record SaeEntry(String id, String dir, String path, String hook, int dSae, int dModel, String architecture) {}

    /**
     * What a run is over.
     *
     * @param path   the corpus path as given (null for a library run over an iterator)
     * @param sha256 hash of the corpus's documents as the indexer read them
     */
    public record CorpusEntry(String path, String sha256) {}

    /** The indexing options of a run ({@link IndexOptions}) and the features per record batch of its summaries. */
    public record Options(int context, long maxTokens, Compression compression, int shardTokens, int batchTokens, int topK,
                          int quantiles, int perQuantile, long seed, boolean skipBadLines, boolean logitTables, int featuresPerBatch) {
        static Options of(IndexOptions o, int featuresPerBatch) {
            return new Options(o.context(), o.maxTokens(), o.compression(), o.shardTokens(), o.batchTokens(), o.topK(), o.quantiles(),
                    o.perQuantile(), o.seed(), o.skipBadLines(), o.logitTables(), featuresPerBatch);
        }
    }

    /**
     * What a complete run holds.
     *
     * @param documents  documents indexed
     * @param tokens     tokens indexed ({@code <bos>} included)
     * @param activeRows rows of the activation shards, summed over the SAEs
     * @param shards     the activation shards, in corpus order
     * @param checksums  every Arrow file of the run with its length and CRC32C
     */
    public record Contents(long documents, long tokens, long activeRows, List<ShardEntry> shards, List<FileEntry> checksums) {
        public Contents {
            shards = List.copyOf(shards);
            checksums = List.copyOf(checksums);
        }
    }

    /**
     * One activation shard of a run.
     *
     * @param file       its file name in each SAE's folder
     * @param firstToken the run's token row its first token is
     * @param rows       its rows, per SAE
     */
    public record ShardEntry(String file, long firstToken, long tokens, List<Long> rows) {
        public ShardEntry {
            rows = List.copyOf(rows);
        }
    }

    /** A file of a run (path relative to the run folder, with '/') and its length and CRC32C, as it was written. */
    public record FileEntry(String file, long bytes, String crc32c) {
        static FileEntry of(Path runDir, Path file, ArrowFiles.FileSum sum) {
            return new FileEntry(runDir.relativize(file).toString().replace('\\', '/'), sum.bytes(), sum.crc32c());
        }

        FileEntry renamed(String name) { return new FileEntry(name, bytes, crc32c); }

        ObjectNode json() { return LoupeJson.MAPPER.createObjectNode().put("file", file).put("bytes", bytes).put("crc32c", crc32c); }

        static FileEntry read(JsonFields j) { return new FileEntry(j.string("file"), j.whole("bytes", 0), j.string("crc32c")); }
    }

    public boolean complete() { return contents != null; }

    /** Documents indexed (0 until the run is complete). */
    public long documents() { return contents == null ? 0 : contents.documents(); }

    /** Tokens indexed (0 until the run is complete). */
    public long tokens() { return contents == null ? 0 : contents.tokens(); }

    /** The SAE with this id; fails with the ids there are. */
    public SaeEntry sae(String id) {
        for (SaeEntry e : saes) if (e.id().equals(id)) return e;
        throw new BadInputException("run has no SAE '" + id + "'; it has " + saes.stream().map(SaeEntry::id).toList());
    }

    /** The distinct hooks of the SAEs, in order. */
    public List<String> hooks() { return saes.stream().map(SaeEntry::hook).distinct().toList(); }

    /** This run, complete with {@code c}. */
    RunManifest completed(Contents c) { return new RunManifest(formatVersion, loupeVersion, runId, model, saes, corpus, options, c); }

    // ---- identity --------------------------------------------------------------------------------------

    /** The run.json fields that make two runs the same run; the indexer compares them on resume. */
    static final List<String> IDENTITY = List.of("format", "format_version", "model", "saes", "hooks", "corpus", "options");

    /** The identity fields as run.json holds them. */
    ObjectNode identityJson() {
        ObjectNode j = LoupeJson.MAPPER.createObjectNode();
        j.put("format", FORMAT);
        j.put("format_version", formatVersion);
        j.putObject("model").put("path", model.path()).put("name", model.name()).put("layers", model.layers())
                .put("d_model", model.dModel()).put("vocab_size", model.vocabSize());
        ArrayNode s = j.putArray("saes");
        for (SaeEntry e : saes) {
            s.addObject().put("id", e.id()).put("dir", e.dir()).put("path", e.path()).put("hook", e.hook()).put("d_sae", e.dSae())
                    .put("d_model", e.dModel()).put("architecture", e.architecture());
        }
        ArrayNode h = j.putArray("hooks");
        hooks().forEach(h::add);
        j.putObject("corpus").put("path", corpus.path()).put("sha256", corpus.sha256());
        j.putObject("options").put("context", options.context()).put("max_tokens", options.maxTokens())
                .put("compression", options.compression().flag()).put("shard_tokens", options.shardTokens())
                .put("batch_tokens", options.batchTokens()).put("top_k", options.topK()).put("quantiles", options.quantiles())
                .put("per_quantile", options.perQuantile()).put("seed", options.seed()).put("skip_bad_lines", options.skipBadLines())
                .put("logit_tables", options.logitTables()).put("features_per_batch", options.featuresPerBatch());
        return j;
    }

    /**
     * A new run's head: its identity, this Loupe's version and the run id of the identity (a part of a distributed
     * run passes the whole run's id as {@code runId}; null computes this identity's).
     */
    static RunManifest start(ModelEntry model, List<SaeEntry> saes, CorpusEntry corpus, Options options, String runId) {
        RunManifest m = new RunManifest(FORMAT_VERSION, LOUPE_VERSION, null, model, saes, corpus, options, null);
        return new RunManifest(FORMAT_VERSION, LOUPE_VERSION, runId != null ? runId : runId(m.identityJson()), model, saes, corpus, options, null);
    }

    /**
     * The run id: the first 128 bits of SHA-256 over the identity fields as compact JSON, without the model, SAE
     * and corpus paths (the corpus is identified by its hash), so a run whose run.json is pointed at moved files
     * keeps its id.
     */
    static String runId(JsonNode runJson) {
        ObjectNode id = LoupeJson.MAPPER.createObjectNode();
        for (String k : IDENTITY) {
            JsonNode v = runJson.get(k);
            if (v != null) id.set(k, v.deepCopy());
        }
        if (id.get("model") instanceof ObjectNode m) {
            m.remove("path");
            m.remove("name");
        }
        if (id.get("saes") instanceof ArrayNode a) for (JsonNode s : a) if (s instanceof ObjectNode o) o.remove("path");
        if (id.get("corpus") instanceof ObjectNode c) c.remove("path");
        try {
            byte[] text = LoupeJson.MAPPER.writeValueAsBytes(id);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text), 0, 16);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    // ---- the file --------------------------------------------------------------------------------------

    /** run.json as written: the identity, then the version, id and completeness, then (complete) the contents. */
    ObjectNode json() {
        ObjectNode j = identityJson();
        j.put("loupe_version", loupeVersion);
        j.put("run_id", runId);
        j.put("complete", complete());
        if (contents != null) {
            j.put("documents", contents.documents());
            j.put("tokens", contents.tokens());
            j.put("active_rows", contents.activeRows());
            ArrayNode shards = j.putArray("shards");
            for (ShardEntry s : contents.shards()) {
                ObjectNode e = shards.addObject().put("file", s.file()).put("first_token", s.firstToken()).put("tokens", s.tokens());
                ArrayNode rows = e.putArray("rows");
                s.rows().forEach(rows::add);
            }
            j.putObject("files").put("tokens", RunLayout.TOKENS).put("documents", RunLayout.DOCUMENTS).put("features", RunLayout.FEATURES)
                    .put("top_examples", RunLayout.EXAMPLES).put("activations", "activations-NNNNN.arrow");
            ArrayNode sums = j.putArray("checksums");
            for (FileEntry f : contents.checksums()) sums.add(f.json());
        }
        return j;
    }

    void write(Path file) throws IOException { JsonFields.write(file, json()); }

    /**
     * Reads and checks a run.json: its format and version, that every SAE's folder is inside the run folder, that a
     * complete run's fields match its run id (a part of a distributed run carries the whole run's id in its head),
     * then every field this Loupe reads, each with its type and range. Fails with one line naming the file and field.
     */
    static RunManifest read(Path file) throws IOException {
        JsonFields j = JsonFields.read(file);
        if (!FORMAT.equals(j.node().path("format").asText(null))) {
            throw j.fail("\"format\" is not \"" + FORMAT + "\" (not a Loupe corpus run)");
        }
        JsonNode v = j.node().get("format_version");
        int version = v != null && v.canConvertToInt() ? v.asInt() : -1;
        if (version != FORMAT_VERSION) {
            throw j.fail("format_version " + v + (version >= 0 && version < FORMAT_VERSION
                    ? " was written by an older Loupe, without file checksums: index the corpus again"
                    : " is not one this Loupe reads (it reads " + FORMAT_VERSION + ")"));
        }
        List<JsonFields> saeJson = j.objects("saes");
        if (saeJson.isEmpty()) throw j.fail("\"saes\" is empty");
        // Before the run id: the id is a hash anyone can recompute, so an edited run.json may pass that check.
        for (JsonFields s : saeJson) requireInside(s, file);
        boolean complete = j.boolOr("complete", false);
        String runId = j.string("run_id");
        if (runId.isEmpty()) throw j.fail("no run_id: the file is damaged");
        if (complete && !runId.equals(runId(j.node()))) {
            throw j.fail("its model, SAE, corpus or options fields do not match its run_id " + runId + ": it was edited or comes from another run");
        }
        JsonFields m = j.object("model");
        ModelEntry model = new ModelEntry(m.string("path"), m.string("name"), m.integer("layers", 1), m.integer("d_model", 1),
                m.integer("vocab_size", 1));
        List<SaeEntry> saes = new ArrayList<>();
        for (JsonFields s : saeJson) {
            saes.add(new SaeEntry(s.string("id"), s.string("dir"), s.string("path"), s.string("hook"), s.integer("d_sae", 1),
                    s.integer("d_model", 1), s.string("architecture")));
        }
        JsonFields c = j.object("corpus");
        CorpusEntry corpus = new CorpusEntry(c.stringOr("path", null), c.string("sha256"));
        JsonFields o = j.object("options");
        Compression compression;
        try {
            compression = Compression.parse(o.string("compression"));
        } catch (BadInputException e) {
            throw o.invalid("compression", "zstd, lz4 or none");
        }
        Options options = new Options(o.integer("context", 2), o.whole("max_tokens", 0), compression, o.integer("shard_tokens", 1),
                o.integer("batch_tokens", 1), o.integer("top_k", 1), o.integer("quantiles", 0), o.integer("per_quantile", 0),
                o.anyLong("seed"), o.bool("skip_bad_lines"), o.bool("logit_tables"), o.integer("features_per_batch", 1));
        Contents contents = null;
        if (complete) {
            List<ShardEntry> shards = new ArrayList<>();
            long first = 0;
            for (JsonFields s : j.objects("shards")) {
                List<Long> rows = s.longs("rows");
                if (rows.size() != saes.size()) throw s.invalid("rows", "one count per SAE (" + saes.size() + ")");
                // Readers find a token's shard from these: they must tile the run's tokens in order.
                long at = s.whole("first_token", 0);
                if (at != first) throw s.invalid("first_token", first + " (the tokens of the shards before it)");
                shards.add(new ShardEntry(s.string("file"), at, s.whole("tokens", 0), rows));
                first += shards.getLast().tokens();
            }
            if (first != j.whole("tokens", 0)) throw j.fail("the shards hold " + first + " tokens but \"tokens\" is " + j.whole("tokens", 0));
            List<FileEntry> sums = new ArrayList<>();
            for (JsonFields f : j.objects("checksums")) sums.add(FileEntry.read(f));
            if (sums.isEmpty()) throw j.fail("no \"checksums\": the file is damaged");
            contents = new Contents(j.whole("documents", 0), j.whole("tokens", 0), j.whole("active_rows", 0), shards, sums);
        }
        return new RunManifest(version, j.stringOr("loupe_version", LOUPE_VERSION), runId, model, saes, corpus, options, contents);
    }

    /**
     * An SAE's files live in the run folder: a {@code dir} that climbs out of it ({@code ../..}, an absolute path)
     * would have readers read files elsewhere on the machine.
     */
    private static void requireInside(JsonFields sae, Path file) {
        String dir = sae.string("dir");
        Path root = file.toAbsolutePath().getParent().normalize();
        Path resolved;
        try {
            resolved = root.resolve(dir).normalize();
        } catch (InvalidPathException e) {
            resolved = null;
        }
        if (resolved == null || !resolved.startsWith(root)) {
            throw sae.fail("SAE '" + sae.stringOr("id", "?") + "' has dir \"" + dir
                    + "\", which is outside the run folder; an SAE's dir must be a sub-folder of the run (or \".\")");
        }
    }
}
