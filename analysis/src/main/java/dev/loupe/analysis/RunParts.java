package dev.loupe.analysis;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.io.LoupeJson;
import dev.loupe.errors.BadInputException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

/**
 * A corpus run made in parts: contiguous ranges of documents indexed independently (by Spark tasks, say), each into
 * its own folder {@code RUN/.parts/part-NNNNN}, then finished into one run folder whose tokens, documents, summaries
 * and examples equal a one-machine run's. Document ids are global. The steps, in order:
 * <ol>
 *   <li>{@link #prepare} (once): checks or creates the run folder and records the plan;</li>
 *   <li>{@link #indexPart} (per part, anywhere): ordinary resumable shards, then the part's first-pass statistics
 *       computed from those committed shards;</li>
 *   <li>{@link #mergeMoments} (once): the whole run's first pass, from the parts' files;</li>
 *   <li>{@link #samplePart} (per part): the part's quantile samples under the whole run's maxima;</li>
 *   <li>{@link #finish} (once): merges the samples, writes the run's files and {@code run.json} last, removes the parts.</li>
 * </ol>
 * Every summary comes from files the parts committed, never from what a task returned. A part's folder must be
 * written by one writer at a time: each per-part step takes the part's {@link RunLock}.
 */
public final class RunParts {
    static final String PARTS = ".parts";
    private static final String PLAN = "plan.json";
    private static final String DONE = "part.json";

    private RunParts() {}

    /**
     * A range of documents: {@code documents} documents from global id {@code firstDoc}, {@code tokens} corpus tokens
     * (after any --max-tokens cut).
     */
    public record Part(int index, int firstDoc, int documents, long tokens) implements Serializable {}

    /**
     * Splits documents into at most {@code partitions} contiguous parts of about equal tokens. {@code tokensPerDoc}
     * holds each document's token count ({@code <bos>} included); {@code maxTokens} > 0 cuts the corpus as
     * {@code --max-tokens} does (documents after the cut are left out, the last one kept is cut short).
     */
    public static List<Part> plan(int[] tokensPerDoc, long maxTokens, int partitions) {
        if (partitions < 1) throw BadInputException.of("partitions", "must be at least 1, got " + partitions);
        long[] kept = new long[tokensPerDoc.length];
        long total = 0;
        int docs = 0;
        for (int i = 0; i < tokensPerDoc.length; i++) {
            long t = tokensPerDoc[i];
            if (maxTokens > 0) t = Math.min(t, maxTokens - total);
            if (t <= 0) break;
            kept[i] = t;
            total += t;
            docs++;
        }
        List<Part> parts = new ArrayList<>();
        int first = 0;
        long before = 0, inPart = 0;
        for (int i = 0; i < docs; i++) {
            inPart += kept[i];
            int k = parts.size() + 1;
            // Cut where the running total reaches k/N of the whole (the last part takes the rest).
            boolean last = i == docs - 1;
            if (last || (k < partitions && (before + inPart) * partitions >= total * k)) {
                parts.add(new Part(parts.size(), first, i + 1 - first, inPart));
                before += inPart;
                inPart = 0;
                first = i + 1;
            }
        }
        return parts;
    }

    /** The folder of part {@code index} of the run in {@code runDir}. */
    public static Path folder(Path runDir, int index) {
        return runDir.resolve(PARTS).resolve(String.format(Locale.ROOT, "part-%05d", index));
    }

    /** The documents of {@code part}, read from an iterator over the whole corpus. */
    public static Iterator<Document> documents(Iterator<Document> corpus, Part part) {
        for (int i = 0; i < part.firstDoc(); i++) {
            if (!corpus.hasNext()) throw new BadInputException("the corpus has fewer documents than planned (" + i + "); did it change during the run?");
            corpus.next();
        }
        return new Iterator<>() {
            int left = part.documents();

            @Override public boolean hasNext() { return left > 0 && corpus.hasNext(); }

            @Override public Document next() {
                if (!hasNext()) throw new NoSuchElementException();
                left--;
                return corpus.next();
            }
        };
    }

    /**
     * Checks or creates the run folder for {@code job} and records {@code plan} in it; fails with one line when the
     * folder holds a different run, or this run made with another plan. Returns whether the run is already complete.
     */
    public static boolean prepare(IndexJob job, List<Part> plan) throws IOException {
        if (CorpusIndexer.prepareRun(job)) return true;
        Path file = job.runDir().resolve(PARTS).resolve(PLAN);
        if (Files.isRegularFile(file)) {
            List<Part> have = readPlan(file);
            if (!have.equals(plan)) {
                throw new BadInputException(job.runDir() + " holds this run begun with " + have.size()
                        + " parts of other document ranges; rerun with the same --partitions, or choose another --out");
            }
            return false;
        }
        if (Files.isDirectory(CorpusIndexer.layoutOf(job).partial())) {
            throw new BadInputException(job.runDir() + " holds this run begun by loupe index; finish it with loupe index, or choose another --out");
        }
        Files.createDirectories(file.getParent());
        ObjectNode j = LoupeJson.MAPPER.createObjectNode();
        ArrayNode parts = j.putArray("parts");
        for (Part p : plan) parts.addArray().add(p.firstDoc()).add(p.documents()).add(p.tokens());
        JsonFields.write(file, j);
        return false;
    }

    /** The parts plan.json records: each [first document, documents, tokens]. */
    private static List<Part> readPlan(Path file) throws IOException {
        JsonFields j = JsonFields.read(file);
        if (!(j.node().get("parts") instanceof ArrayNode parts)) throw j.invalid("parts", "an array of [first_doc, documents, tokens]");
        List<Part> out = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            var p = parts.get(i);
            boolean ok = p.isArray() && p.size() == 3;
            for (int k = 0; ok && k < 3; k++) ok = p.get(k).canConvertToLong() && p.get(k).isIntegralNumber() && p.get(k).asLong() >= 0;
            if (!ok || !p.get(0).canConvertToInt() || !p.get(1).canConvertToInt()) {
                throw j.fail("parts[" + i + "] is " + p + ", expected [first_doc, documents, tokens] (whole numbers >= 0)");
            }
            out.add(new Part(i, p.get(0).asInt(), p.get(1).asInt(), p.get(2).asLong()));
        }
        return out;
    }

    /** The number of parts a distributed run in {@code runDir} was planned with. */
    public static int plannedParts(Path runDir) throws IOException { return readPlan(runDir.resolve(PARTS).resolve(PLAN)).size(); }

    /**
     * What a part's {@code part.json} records once it is indexed and its first pass written.
     *
     * @param shards the part's complete shards
     */
    private record PartDone(int part, int firstDoc, int documents, long tokens, int shards) {
        void write(Path file) throws IOException {
            JsonFields.write(file, LoupeJson.MAPPER.createObjectNode().put("part", part).put("first_doc", firstDoc).put("documents", documents)
                    .put("tokens", tokens).put("shards", shards));
        }

        static PartDone read(Path file) throws IOException {
            JsonFields j = JsonFields.read(file);
            return new PartDone(j.integer("part", 0), j.integer("first_doc", 0), j.integer("documents", 0), j.whole("tokens", 0), j.integer("shards", 0));
        }
    }

    /** The job of one part: its folder, its documents, and its share of --max-tokens. */
    static IndexJob partJob(IndexJob job, Part p) {
        IndexOptions o = job.options();
        return new IndexJob(job.model(), job.modelPath(), job.saes(),
                new IndexJob.CorpusId(job.corpus().path() + String.format(Locale.ROOT, "#part-%05d(docs %d+%d)", p.index(), p.firstDoc(), p.documents()),
                        job.corpus().sha256()),
                folder(job.runDir(), p.index()), o.maxTokens() > 0 ? o.withMaxTokens(p.tokens()) : o);
    }

    private static void requireLock(RunLock lock, Path folder) {
        if (lock == null || !lock.folder().toAbsolutePath().normalize().equals(folder.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("lock: expected the RunLock of " + folder);
        }
    }

    /**
     * Indexes {@code part} of {@code job} (resuming its folder's complete shards) and computes its first-pass
     * statistics from its committed shards. {@code lock} must hold the part's folder. A part already done returns at
     * once. Returns the part's tokens.
     */
    public static long indexPart(IndexJob job, Part part, RunLock lock, Iterator<Document> corpus, IndexProgress progress) throws IOException {
        IndexJob pj = partJob(job, part);
        requireLock(lock, pj.runDir());
        Path done = pj.runDir().resolve(DONE);
        if (Files.isRegularFile(done)) return PartDone.read(done).tokens();
        long tokens = CorpusIndexer.indexPart(pj, CorpusIndexer.headOf(job).runId(), part.firstDoc(), documents(corpus, part), progress);
        if (tokens != part.tokens()) {
            throw new BadInputException(pj.runDir() + ": indexed " + tokens + " tokens where the plan counted " + part.tokens()
                    + "; did the corpus, model or tokenizer differ on this node?");
        }
        RunLayout layout = CorpusIndexer.layoutOf(pj);
        Finisher.Source src = Finisher.Source.read(layout, 0, 0);
        try (BufferAllocator allocator = new RootAllocator()) {
            for (int s = 0; s < job.saes().size(); s++) {
                FeatureStats st = new FeatureStats(job.saes().get(s).sae().dSae(), job.options());
                st.scanMoments(shards(layout, s, src.markers().size()), allocator);
                st.write(stats(pj.runDir(), "moments", s), false);
            }
        }
        new PartDone(part.index(), part.firstDoc(), part.documents(), tokens, src.markers().size()).write(done);
        return tokens;
    }

    /** Whether {@code part} of the run in {@code runDir} is indexed and its first pass written. */
    public static boolean indexed(Path runDir, Part part) { return Files.isRegularFile(folder(runDir, part.index()).resolve(DONE)); }

    /** Corpus tokens in the complete shards of {@code part} so far (for progress; 0 before its first shard). */
    public static long tokensSoFar(Path runDir, Part part) {
        Path dir = folder(runDir, part.index());
        try {
            if (Files.isRegularFile(dir.resolve(DONE))) return part.tokens();
            Path runJson = dir.resolve(RunLayout.RUN_JSON);
            if (!Files.isRegularFile(runJson)) return 0;
            RunLayout layout = new RunLayout(dir, RunManifest.read(runJson).saes().stream().map(RunManifest.SaeEntry::id).toList());
            long t = 0;
            for (int s = 0; Files.isRegularFile(layout.marker(s)); s++) t += ShardMarker.read(layout.marker(s), s, layout.saeIds().size()).tokens();
            return t;
        } catch (IOException | BadInputException e) {
            return 0;   // a file being renamed right now: counted next time
        }
    }

    /**
     * Whether the run in {@code runDir} is complete (its run.json says so and reads); a damaged or unfinished one is
     * not. For stragglers of a finished distributed run, which then have nothing to do.
     */
    public static boolean complete(Path runDir) {
        try {
            return Files.isRegularFile(runDir.resolve(RunLayout.RUN_JSON)) && RunManifest.read(runDir.resolve(RunLayout.RUN_JSON)).complete();
        } catch (IOException | BadInputException e) {
            return false;
        }
    }

    /** Merges every part's first pass into the run's, which {@link #samplePart} reads. */
    public static void mergeMoments(IndexJob job, List<Part> parts) throws IOException {
        for (int s = 0; s < job.saes().size(); s++) {
            int dSae = job.saes().get(s).sae().dSae();
            FeatureStats all = new FeatureStats(dSae, job.options());
            for (Part p : parts) {
                Path f = stats(folder(job.runDir(), p.index()), "moments", s);
                if (!Files.isRegularFile(f)) throw new BadInputException("part " + p.index() + " is not indexed yet (no " + f + ")");
                all.mergeMoments(FeatureStats.read(f, dSae, job.options()));
            }
            all.write(stats(job.runDir().resolve(PARTS), "moments", s), false);
        }
    }

    /** Takes {@code part}'s quantile samples under the run's merged first pass; {@code lock} must hold the part's folder. */
    public static void samplePart(IndexJob job, Part part, RunLock lock) throws IOException {
        IndexJob pj = partJob(job, part);
        requireLock(lock, pj.runDir());
        RunLayout layout = CorpusIndexer.layoutOf(pj);
        int shards = PartDone.read(pj.runDir().resolve(DONE)).shards();
        try (BufferAllocator allocator = new RootAllocator()) {
            for (int s = 0; s < job.saes().size(); s++) {
                Path out = stats(pj.runDir(), "samples", s);
                if (Files.isRegularFile(out)) continue;
                FeatureStats st = FeatureStats.read(stats(job.runDir().resolve(PARTS), "moments", s), job.saes().get(s).sae().dSae(), job.options());
                st.scanSamples(shards(layout, s, shards), allocator);
                st.write(out, true);
            }
        }
    }

    /**
     * Writes the run's files from its parts (each indexed and sampled) and its {@code run.json} last, then removes
     * the parts' folders (waiting for any attempt still holding one to stop).
     */
    public static IndexResult finish(IndexJob job, List<Part> parts, IndexProgress progress) throws IOException {
        long started = System.nanoTime();
        RunLayout layout = CorpusIndexer.layoutOf(job);
        List<Finisher.Source> sources = new ArrayList<>();
        long tokenBase = 0;
        int shardBase = 0;
        for (Part p : parts) {
            Finisher.Source src = Finisher.Source.read(CorpusIndexer.layoutOf(partJob(job, p)), tokenBase, shardBase);
            sources.add(src);
            tokenBase += src.tokens();
            shardBase += src.markers().size();
        }
        IndexResult r;
        try (BufferAllocator allocator = new RootAllocator()) {
            Finisher finisher = new Finisher(job, layout, CorpusIndexer.headOf(job), allocator, progress == null ? IndexProgress.NONE : progress);
            r = finisher.finish(sources, (s, files) -> {
                int dSae = job.saes().get(s).sae().dSae();
                FeatureStats all = FeatureStats.read(stats(job.runDir().resolve(PARTS), "moments", s), dSae, job.options());
                for (Part p : parts) all.mergeSamples(FeatureStats.read(stats(folder(job.runDir(), p.index()), "samples", s), dSae, job.options()));
                return all;
            }, started);
        }
        removeParts(job.runDir(), parts);
        return r;
    }

    /** Deletes {@code RUN/.parts}, taking each part's lock first so that no straggling attempt still writes there. */
    public static void removeParts(Path runDir, List<Part> parts) throws IOException {
        for (Part p : parts) {
            Path dir = folder(runDir, p.index());
            if (!Files.isDirectory(dir)) continue;
            try (RunLock lock = waitFor(dir)) {
                deleteTree(dir, RunLock.FILE);
            }
            Files.deleteIfExists(dir);
        }
        deleteTree(runDir.resolve(PARTS), null);
    }

    private static RunLock waitFor(Path dir) throws IOException {
        while (true) {
            var l = RunLock.tryAcquire(dir);
            if (l.isPresent()) return l.get();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for " + dir + " to be released", e);
            }
        }
    }

    /** Deletes a folder and everything under it, except a file named {@code keep} directly in it (a held lock). */
    private static void deleteTree(Path dir, String keep) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                if (keep != null && p.getParent() != null && p.getParent().equals(dir) && p.getFileName().toString().equals(keep)) continue;
                if (keep != null && p.equals(dir)) continue;
                Files.deleteIfExists(p);
            }
        }
    }

    private static List<Path> shards(RunLayout layout, int sae, int count) {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < count; i++) files.add(layout.shard(sae, i));
        return files;
    }

    private static Path stats(Path dir, String kind, int sae) {
        return dir.resolve(String.format(Locale.ROOT, "%s-%02d.bin", kind, sae));
    }
}
