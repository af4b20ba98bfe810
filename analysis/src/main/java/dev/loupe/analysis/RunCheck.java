package dev.loupe.analysis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.errors.BadInputException;
import org.apache.arrow.memory.BufferAllocator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The proof that a run's files are the ones it wrote. The run id is a hash of run.json's identity fields (see
 * {@link RunManifest#runId}: the same for a resumed run and an uninterrupted one, so resumption stays byte-identical); every
 * Arrow file of the run carries it in its schema metadata, and run.json lists every file with its length and CRC32C.
 * Opening a run checks all of that, so a file swapped in from another run, a file with flipped bytes, a deleted
 * file or an edited run.json is refused with one line naming the file, instead of serving wrong numbers.
 * Nothing here deletes or repairs anything.
 */
final class RunCheck {
    private RunCheck() {}

    /**
     * Checks the files a complete run lists in {@code checksums} whose run-relative path passes {@code which}: each
     * exists, has its recorded length and CRC32C, and (Arrow files) carries the run id. Also checks that every file
     * the run must have is listed. Fails with one line naming the first file that is wrong.
     */
    static void checkFiles(Path runDir, RunManifest run, Predicate<String> which, BufferAllocator allocator) throws IOException {
        Set<String> listed = new LinkedHashSet<>();
        for (RunManifest.FileEntry e : run.contents().checksums()) {
            listed.add(e.file());
            if (which.test(e.file())) checkFile(runDir, e, run.runId(), allocator);
        }
        for (String rel : expectedFiles(run)) {
            if (which.test(rel) && !listed.contains(rel)) {
                throw new BadInputException(runDir.resolve(RunLayout.RUN_JSON) + ": \"checksums\" does not list " + rel + ": the file is damaged");
            }
        }
    }

    /** Checks the files a shard marker lists (an interrupted run's complete shards, before resuming after them). */
    static void checkMarkerFiles(Path runDir, ShardMarker marker, String runId, BufferAllocator allocator) throws IOException {
        for (RunManifest.FileEntry e : marker.files()) checkFile(runDir, e, runId, allocator);
    }

    /** Run-relative paths of the files a complete run must have. */
    static List<String> expectedFiles(RunManifest run) {
        List<String> out = new ArrayList<>(List.of(RunLayout.TOKENS, RunLayout.DOCUMENTS));
        int shards = run.contents().shards().size();
        for (RunManifest.SaeEntry s : run.saes()) {
            String prefix = s.dir().equals(".") ? "" : s.dir() + "/";
            out.add(prefix + RunLayout.FEATURES);
            out.add(prefix + RunLayout.EXAMPLES);
            for (int i = 0; i < shards; i++) out.add(prefix + RunLayout.shardName(i));
        }
        return out;
    }

    private static void checkFile(Path runDir, RunManifest.FileEntry entry, String runId, BufferAllocator allocator) throws IOException {
        String rel = entry.file();
        Path base = runDir.toAbsolutePath().normalize();
        Path file = base.resolve(rel).normalize();
        if (rel.isEmpty() || !file.startsWith(base) || file.equals(base)) {
            throw new BadInputException(runDir.resolve(RunLayout.RUN_JSON) + ": lists \"" + rel + "\", which is not a file inside the run folder");
        }
        Path shown = runDir.resolve(rel);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(shown + ": missing (run.json lists it)");
        }
        long bytes = entry.bytes();
        String crc = entry.crc32c();
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
