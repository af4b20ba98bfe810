package dev.loupe.analysis;

import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run made in parts (in any order) equals a one-machine run of the same corpus, file for file. */
class RunPartsTest {
    @TempDir Path tmp;

    @Test void partsInAnyOrderEqualOneMachine() throws IOException {
        try (Model model = TinyA.model(); Sae sae = TinyA.sae(model, TinyA.HOOK)) {
            Path corpus = tmp.resolve("corpus.txt");
            List<String> lines = new ArrayList<>();
            for (int r = 0; r < 3; r++) lines.addAll(TinyA.TEXT);
            Files.writeString(corpus, String.join("\n", lines) + "\n");
            IndexOptions o = IndexOptions.defaults().withContext(16).withShardTokens(40).withMaxTokens(500).withLogitTables(false);
            Path one = tmp.resolve("one");
            TinyA.index(model, List.of(sae), corpus, one, o);

            IndexJob job = new IndexJob(model, TinyA.gguf().toString(), List.of(new IndexJob.RunSae(sae, TinyA.saeDir().toString())),
                    new IndexJob.CorpusId(corpus.toString(), Corpus.sha256(corpus)), tmp.resolve("parts"), o);
            int[] counts = Stream.of(lines.toArray(String[]::new)).mapToInt(l -> model.tokenizer().encode(l, true).length).toArray();
            List<RunParts.Part> plan = RunParts.plan(counts, o.maxTokens(), 4);
            assertEquals(4, plan.size());
            assertEquals(500, plan.stream().mapToLong(RunParts.Part::tokens).sum());
            assertFalse(RunParts.prepare(job, plan));
            List<RunParts.Part> shuffled = new ArrayList<>(plan);
            Collections.reverse(shuffled);
            for (RunParts.Part p : shuffled) {
                try (RunLock lock = RunLock.acquire(RunParts.folder(job.runDir(), p.index()))) {
                    Iterator<Document> docs = Corpus.read(corpus, false, IndexProgress.NONE);
                    assertEquals(p.tokens(), RunParts.indexPart(job, p, lock, docs, IndexProgress.NONE));
                }
            }
            RunParts.mergeMoments(job, plan);
            for (RunParts.Part p : shuffled) {
                try (RunLock lock = RunLock.acquire(RunParts.folder(job.runDir(), p.index()))) {
                    RunParts.samplePart(job, p, lock);
                }
            }
            IndexResult r = RunParts.finish(job, plan, IndexProgress.NONE);
            assertEquals(500, r.tokens());
            for (String f : List.of("features.arrow", "top_examples.arrow", "tokens.arrow", "documents.arrow")) {
                assertArrayEquals(Files.readAllBytes(one.resolve(f)), Files.readAllBytes(job.runDir().resolve(f)), f);
            }
            assertEquals(RunFiles.activations(one), RunFiles.activations(job.runDir()));
            try (Stream<Path> s = Files.list(job.runDir())) {
                List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".") || n.endsWith(".tmp") || n.endsWith(dev.loupe.model.io.AtomicFiles.SUFFIX)).toList();
                assertEquals(List.of(), names, "no work files left");
            }
            try (FeatureStore store = FeatureStore.open(job.runDir())) {   // the integrity check at open: ids, sizes, checksums
                assertEquals(500, store.info().tokens());
            }
            assertTrue(RunParts.prepare(job, plan), "a finished run is complete");
        }
    }

    /** The exact sums merge in any grouping to the same bits. */
    @Test void exactSumIsAssociative() {
        long[] a = new long[2], b = new long[2], c = new long[2];
        float[] vs = {1e-3f, 3.5f, 123456.78f, 1e-9f, 7e4f, -2.5f, 0.1f, 1e7f};
        for (float v : vs) FeatureStats.addExact(a, 0, v);
        for (int i = vs.length - 1; i >= 0; i--) FeatureStats.addExact(i % 2 == 0 ? b : c, 0, vs[i]);
        long lo = b[1] + c[1];
        long hi = b[0] + c[0] + (Long.compareUnsigned(lo, b[1]) < 0 ? 1 : 0);
        assertEquals(a[0], hi);
        assertEquals(a[1], lo);
        double want = 0;
        for (float v : vs) want += v;
        assertEquals(want, Math.scalb((double) a[0] * 0x1p64 + ((double) (a[1] >>> 1) * 2 + (a[1] & 1)), -FeatureStats.SUM_SCALE), 1e-6);
    }
}
