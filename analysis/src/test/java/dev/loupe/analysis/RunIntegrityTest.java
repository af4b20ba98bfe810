package dev.loupe.analysis;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a reliability probe did to run folders, each refused with one line naming the file instead of serving wrong
 * data: two writers into one folder, a file swapped in from another run, a shard copied over another, flipped
 * bytes, a deleted file in a complete run (for {@code index} and for opening), and an edited run.json.
 */
class RunIntegrityTest {
    @TempDir static Path tmp;
    static Model model;
    static Sae sae;
    static Path corpus, original, other;
    /** Eight shards, as in the probe's run. */
    static final IndexOptions OPTIONS = IndexOptions.defaults().withContext(16).withShardTokens(20).withLogitTables(false);

    @BeforeAll static void runs() throws IOException {
        model = TinyA.model();
        sae = TinyA.sae(model, TinyA.HOOK);
        corpus = TinyA.writeText(tmp);
        original = tmp.resolve("original");
        TinyA.index(model, List.of(sae), corpus, original, OPTIONS);
        // Another run of the same model and SAE over the same corpus, with other options.
        other = tmp.resolve("other");
        TinyA.index(model, List.of(sae), corpus, other, OPTIONS.withMaxTokens(100));
        assertTrue(RunFiles.shards(original).size() >= 8, "the run has eight shards or more");
    }

    @AfterAll static void close() {
        sae.close();
        model.close();
    }

    /** A fresh copy of the original run to damage. */
    private static Path copy(String name) throws IOException {
        Path dir = tmp.resolve(name);
        try (Stream<Path> s = Files.walk(original)) {
            for (Path p : s.toList()) {
                Path to = dir.resolve(original.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(to);
                else Files.copy(p, to);
            }
        }
        return dir;
    }

    private static String refusedAtOpen(Path run) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FeatureStore.open(run, null, model.tokenizer()).close());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private static Set<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return new TreeSet<>(s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).toList());
        }
    }

    @Test void anIntactRunOpens() throws IOException {
        try (FeatureStore s = FeatureStore.open(original, null, model.tokenizer())) {
            assertEquals(sae.dSae(), s.featureCount());
        }
    }

    /** A second indexer into a folder another is writing fails at once; the first finishes a run that opens. */
    @Test void twoWritersIntoOneFolder() throws Exception {
        Path dir = tmp.resolve("two-writers");
        CountDownLatch writing = new CountDownLatch(1), release = new CountDownLatch(1);
        IndexProgress holdAfterFirstWindow = new IndexProgress() {
            @Override public void tokens(long done, long total) {
                if (done == 0) return;
                writing.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        CompletableFuture<IndexResult> first = CompletableFuture.supplyAsync(() -> {
            try {
                IndexJob job = job(dir, OPTIONS);
                return CorpusIndexer.index(job, Corpus.read(corpus, false, IndexProgress.NONE), holdAfterFirstWindow);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(writing.await(60, TimeUnit.SECONDS), "the first writer started");
        try {
            RunLock.HeldException e = assertThrows(RunLock.HeldException.class, () -> TinyA.index(model, List.of(sae), corpus, dir, OPTIONS));
            assertTrue(e.getMessage().contains("is being written by another process"), e.getMessage());
        } finally {
            release.countDown();
        }
        IndexResult r = first.get(120, TimeUnit.SECONDS);
        assertTrue(r.tokens() > 0);
        try (FeatureStore s = FeatureStore.open(dir, null, model.tokenizer())) {
            assertEquals(sae.dSae(), s.featureCount());
        }
        assertEquals(files(original), files(dir), "the same files as an undisturbed run");
    }

    private static IndexJob job(Path out, IndexOptions o) throws IOException {
        return new IndexJob(model, TinyA.gguf().toString(), List.of(new IndexJob.RunSae(sae, TinyA.saeDir().toString())),
                new IndexJob.CorpusId(corpus.toString(), Corpus.sha256(corpus)), out, o);
    }

    @Test void summariesSwappedInFromAnotherRun() throws IOException {
        Path run = copy("swapped");
        Files.copy(other.resolve("features.arrow"), run.resolve("features.arrow"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String m = refusedAtOpen(run);
        assertTrue(m.startsWith(run.resolve("features.arrow") + ": belongs to another run"), m);
    }

    @Test void aShardCopiedOverAnother() throws IOException {
        Path run = copy("shard-over-shard");
        Files.copy(run.resolve("activations-00005.arrow"), run.resolve("activations-00001.arrow"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String m = refusedAtOpen(run);
        assertTrue(m.startsWith(run.resolve("activations-00001.arrow") + ": damaged"), m);
    }

    @Test void flippedBytes() throws IOException {
        Path run = copy("flipped");
        Path file = run.resolve("top_examples.arrow");
        byte[] b = Files.readAllBytes(file);
        for (int i = 0; i < 16; i++) b[b.length / 2 + i] ^= (byte) 0x5a;
        Files.write(file, b);
        String m = refusedAtOpen(run);
        assertTrue(m.startsWith(file + ": damaged: its checksum is"), m);
    }

    /** index on a complete run checks what exists against run.json, refuses, and deletes nothing. */
    @Test void aDeletedFileInACompleteRun() throws IOException {
        Path run = copy("deleted");
        Files.delete(run.resolve("activations-00002.arrow"));
        Set<String> before = files(run);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TinyA.index(model, List.of(sae), corpus, run, OPTIONS));
        assertTrue(e.getMessage().startsWith(run.resolve("activations-00002.arrow") + ": missing"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was changed or deleted"), e.getMessage());
        assertEquals(before, files(run), "nothing deleted or added");
        assertTrue(refusedAtOpen(run).startsWith(run.resolve("activations-00002.arrow") + ": missing"));
    }

    @Test void aCompleteIntactRunIsResumedAsItIs() throws IOException {
        Path run = copy("intact");
        IndexResult r = TinyA.index(model, List.of(sae), corpus, run, OPTIONS);
        assertEquals(r.tokens(), r.resumedTokens());
    }

    /** batch_tokens 0 once gave "/ by zero" on every page. */
    @Test void anEditedRunJson() throws IOException {
        Path run = copy("edited");
        ObjectNode json = (ObjectNode) dev.loupe.model.io.LoupeJson.MAPPER.readTree(run.resolve("run.json").toFile());
        ((ObjectNode) json.get("options")).put("batch_tokens", 0);
        Files.writeString(run.resolve("run.json"), dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsString(json));
        String m = refusedAtOpen(run);
        assertTrue(m.startsWith(run.resolve("run.json") + ": its model, SAE, corpus or options fields do not match its run_id"), m);
    }

    /** Every Arrow file names its run; run.json lists every file with its length and checksum. */
    @Test void everyFileCarriesTheRunIdAndAChecksum() throws IOException {
        var json = dev.loupe.model.io.LoupeJson.MAPPER.readTree(original.resolve("run.json").toFile());
        String id = json.path("run_id").asText();
        assertEquals(32, id.length());
        Set<String> listed = new TreeSet<>();
        json.path("checksums").forEach(e -> listed.add(e.path("file").asText()));
        Set<String> arrow = new TreeSet<>(files(original).stream().filter(f -> f.endsWith(".arrow")).toList());
        assertEquals(arrow, listed);
        try (var a = new org.apache.arrow.memory.RootAllocator()) {
            for (String f : arrow) assertEquals(id, ArrowFiles.runId(original.resolve(f), a), f);
        }
        assertTrue(files(original).stream().noneMatch(f -> f.equals(RunLock.FILE)), "the lock is gone once the run is written");
    }
}
