package dev.loupe.analysis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.errors.BadInputException;
import org.apache.arrow.memory.BufferAllocator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A run's identity and the proof that its files are the ones it wrote. The run id is a hash of run.json's identity
 * fields (so it is the same for a resumed run and an uninterrupted one, and byte-identical resumption holds); every
 * Arrow file of the run carries it in its schema metadata, and run.json lists every file with its length and CRC32C.
 * Opening a run checks all of that, so a file swapped in from another run, a file with flipped bytes, a deleted
 * file or an edited run.json is refused with one line naming the file, instead of serving wrong numbers.
 * Nothing here deletes or repairs anything.
 */
final class RunCheck {
    private RunCheck() {}

    /** The run.json fields that make two runs the same run; the indexer compares them on resume. */
    static final List<String> IDENTITY = List.of("format", "format_version", "model", "saes", "hooks", "corpus", "options");

    /**
     * The run id: the first 128 bits of SHA-256 over the identity fields as compact JSON, without the model, SAE
     * and corpus paths (the corpus is identified by its hash), so a run whose run.json is pointed at moved files
     * keeps its id.
     */
    static String runId(JsonNode runJson) {
        ObjectNode id = CorpusIndexer.JSON.createObjectNode();
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
            byte[] text = CorpusIndexer.JSON.writeValueAsBytes(id);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text), 0, 16);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /** Checks run.json itself: its format version, its run id against its identity fields, and the options readers rely on. */
    static void checkRunJson(Path runJson, JsonNode j) {
        int version = j.path("format_version").asInt(-1);
        if (version != CorpusIndexer.FORMAT_VERSION) {
            throw new BadInputException(runJson + ": format_version " + j.path("format_version") + (version >= 0 && version < CorpusIndexer.FORMAT_VERSION
                    ? " was written by an older Loupe, without file checksums: index the corpus again"
                    : " is not one this Loupe reads (it reads " + CorpusIndexer.FORMAT_VERSION + ")"));
        }
        String stored = j.path("run_id").asText("");
        if (stored.isEmpty()) throw new BadInputException(runJson + ": no run_id: the file is damaged");
        if (!stored.equals(runId(j))) {
            throw new BadInputException(runJson + ": its model, SAE, corpus or options fields do not match its run_id "
                    + stored + ": it was edited or comes from another run");
        }
        JsonNode o = j.path("options");
        positive(runJson, o, "batch_tokens");
        positive(runJson, o, "features_per_batch");
        positive(runJson, o, "context");
    }

    private static void positive(Path runJson, JsonNode options, String field) {
        JsonNode v = options.get(field);
        if (v == null || !v.canConvertToInt() || v.asInt() < 1) {
            throw new BadInputException(runJson + ": options." + field + " is " + v + ", expected a whole number >= 1");
        }
    }

    /**
     * Checks the files a complete run lists in {@code checksums} whose run-relative path passes {@code which}: each
     * exists, has its recorded length and CRC32C, and (Arrow files) carries the run id. Also checks that every file
     * the run must have is listed. Fails with one line naming the first file that is wrong.
     */
    static void checkFiles(Path runDir, JsonNode runJson, Predicate<String> which, BufferAllocator allocator) throws IOException {
        String runId = runJson.path("run_id").asText();
        Set<String> listed = new LinkedHashSet<>();
        JsonNode sums = runJson.path("checksums");
        if (!sums.isArray() || sums.isEmpty()) throw new BadInputException(runDir.resolve(RunLayout.RUN_JSON) + ": no \"checksums\": the file is damaged");
        for (JsonNode e : sums) {
            String rel = e.path("file").asText("");
            listed.add(rel);
            if (which.test(rel)) checkFile(runDir, rel, e, runId, allocator);
        }
        for (String rel : expectedFiles(runJson)) {
            if (which.test(rel) && !listed.contains(rel)) {
                throw new BadInputException(runDir.resolve(RunLayout.RUN_JSON) + ": \"checksums\" does not list " + rel + ": the file is damaged");
            }
        }
    }

    /** Checks the files a shard marker lists (an interrupted run's complete shards, before resuming after them). */
    static void checkMarkerFiles(Path runDir, Path marker, JsonNode m, String runId, BufferAllocator allocator) throws IOException {
        JsonNode files = m.path("files");
        if (!files.isArray() || files.isEmpty()) throw new BadInputException(marker + ": lists no files: the marker is damaged");
        for (JsonNode e : files) checkFile(runDir, e.path("file").asText(""), e, runId, allocator);
    }

    /** Run-relative paths of the files a complete run must have. */
    static List<String> expectedFiles(JsonNode runJson) {
        List<String> out = new java.util.ArrayList<>(List.of(RunLayout.TOKENS, RunLayout.DOCUMENTS));
        int shards = runJson.path("shards").size();
        for (JsonNode s : runJson.path("saes")) {
            String dir = s.path("dir").asText(".");
            String prefix = dir.equals(".") ? "" : dir + "/";
            out.add(prefix + RunLayout.FEATURES);
            out.add(prefix + RunLayout.EXAMPLES);
            for (int i = 0; i < shards; i++) out.add(prefix + RunLayout.shardName(i));
        }
        return out;
    }

    private static void checkFile(Path runDir, String rel, JsonNode entry, String runId, BufferAllocator allocator) throws IOException {
        Path base = runDir.toAbsolutePath().normalize();
        Path file = base.resolve(rel).normalize();
        if (rel.isEmpty() || !file.startsWith(base) || file.equals(base)) {
            throw new BadInputException(runDir.resolve(RunLayout.RUN_JSON) + ": lists \"" + rel + "\", which is not a file inside the run folder");
        }
        Path shown = runDir.resolve(rel);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(shown + ": missing (run.json lists it)");
        }
        long bytes = entry.path("bytes").asLong(-1);
        String crc = entry.path("crc32c").asText("");
        ArrowFiles.FileSum have = ArrowFiles.sum(file);
        if (have.bytes() != bytes || !have.crc32c().equals(crc)) {
            String other = foreignRunId(file, runId, allocator);
            if (other != null) {
                throw new BadInputException(shown + ": belongs to another run (run id " + other + ", this run's is " + runId + ")");
            }
            throw new BadInputException(shown + ": damaged: " + (have.bytes() != bytes
                    ? have.bytes() + " bytes where the run wrote " + bytes
                    : "its checksum is " + have.crc32c() + " where the run wrote " + crc + " (its bytes changed)"));
        }
        if (rel.endsWith(".arrow")) {
            String other = foreignRunId(file, runId, allocator);
            if (other != null) throw new BadInputException(shown + ": belongs to another run (run id " + other + ", this run's is " + runId + ")");
        }
    }

    /** The run id a readable Arrow file carries when it is not {@code runId} (none: "none"); null when it matches or cannot be read. */
    private static String foreignRunId(Path file, String runId, BufferAllocator allocator) {
        if (!file.getFileName().toString().endsWith(".arrow")) return null;
        try {
            String id = ArrowFiles.runId(file, allocator);
            return runId.equals(id) ? null : id == null ? "none" : id;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
