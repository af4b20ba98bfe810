package dev.loupe.analysis;

import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Turns complete shards into a finished run: {@code tokens.arrow} and {@code documents.arrow} from the token parts
 * and markers, each SAE's {@code features.arrow} and {@code top_examples.arrow} from its shards, then
 * {@code run.json} marked complete. Reads only files, so it gives the same bytes after any interruption.
 */
final class Finisher {
    /** Rows of features.arrow per record batch, and features of top_examples.arrow per batch: the unit of random access. */
    static final int FEATURES_PER_BATCH = 1024;
    static final int LOGIT_TOKENS = 10;

    private final IndexJob job;
    private final RunLayout layout;
    private final RunManifest head;
    private final String runId;
    private final BufferAllocator allocator;
    private final IndexProgress progress;

    /** {@code head} is the run's run.json as written when it started (its identity and run id). */
    Finisher(IndexJob job, RunLayout layout, RunManifest head, BufferAllocator allocator, IndexProgress progress) {
        this.job = job;
        this.layout = layout;
        this.head = head;
        this.runId = head.runId();
        this.allocator = allocator;
        this.progress = progress;
    }

    /** Schema metadata: the run id, the model, the SAE (or all of them, for files shared by the SAEs) and the hook. */
    static Map<String, String> metadata(IndexJob job, String runId, int sae) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(ArrowFiles.RUN_ID, runId);
        m.put("loupe_version", RunManifest.LOUPE_VERSION);
        m.put("model", job.modelPath());
        if (sae >= 0) {
            m.put("sae", job.saes().get(sae).path());
            m.put("hook", job.saes().get(sae).sae().hookName());
        } else {
            m.put("sae", String.join(",", job.saes().stream().map(IndexJob.RunSae::path).toList()));
            m.put("hook", String.join(",", job.saes().stream().map(s -> s.sae().hookName()).distinct().toList()));
        }
        return m;
    }

    /**
     * Complete shards of a run, in corpus order: the run folder's own (one machine) or one part's folder (a
     * distributed run), with where its tokens and shards start in the whole run.
     */
    record Source(RunLayout layout, List<ShardMarker> markers, long tokenBase, int shardBase) {
        static Source read(RunLayout layout, long tokenBase, int shardBase) throws IOException {
            List<ShardMarker> markers = new ArrayList<>();
            for (int s = 0; Files.isRegularFile(layout.marker(s)); s++) markers.add(ShardMarker.read(layout.marker(s), s, layout.saeIds().size()));
            return new Source(layout, markers, tokenBase, shardBase);
        }

        long tokens() {
            long t = 0;
            for (ShardMarker m : markers) t += m.tokens();
            return t;
        }
    }

    /** The summaries of one SAE, given the run's shard files of it in corpus order. */
    interface StatsSource {
        FeatureStats stats(int sae, List<Path> shards) throws IOException;
    }

    IndexResult finish(long startedNanos) throws IOException {
        RunManifest old = RunManifest.read(layout.runJson());
        if (old.complete()) {
            deletePartial();
            return new IndexResult(job.runDir(), old.documents(), old.tokens(), old.tokens(), old.contents().activeRows(), 0,
                    old.contents().shards().size(), (System.nanoTime() - startedNanos) / 1e9);
        }
        IndexResult r = finish(List.of(Source.read(layout, 0, 0)), (s, files) -> {
            FeatureStats stats = new FeatureStats(job.saes().get(s).sae().dSae(), job.options());
            stats.compute(files, allocator);
            return stats;
        }, startedNanos);
        deletePartial();
        return r;
    }

    /**
     * Writes the run's files from its sources: documents and tokens joined in order, each source's shards placed
     * under the run's own shard names (hard links, or copies where the file system has none), the summaries, and
     * run.json, last.
     */
    IndexResult finish(List<Source> sources, StatsSource statsSource, long startedNanos) throws IOException {
        long tokens = 0;
        int shardCount = 0;
        List<RunManifest.ShardEntry> shards = new ArrayList<>();
        List<RunManifest.FileEntry> checksums = new ArrayList<>();
        for (Source src : sources) {
            for (int i = 0; i < src.markers().size(); i++) {
                ShardMarker m = src.markers().get(i);
                // The activation shards stay (under the run's name for them); the token parts are joined into
                // tokens.arrow and go with .partial.
                for (RunManifest.FileEntry f : m.files()) {
                    if (f.file().startsWith(RunLayout.PARTIAL + "/")) continue;
                    checksums.add(f.renamed(runName(src, i, f.file())));
                }
                shards.add(new RunManifest.ShardEntry(RunLayout.shardName(src.shardBase() + m.shard()), src.tokenBase() + m.firstToken(),
                        m.tokens(), m.rows()));
                tokens += m.tokens();
                shardCount++;
            }
        }
        int documents = writeDocuments(sources, checksums);
        writeTokens(sources, checksums);
        long activeRows = 0;
        long shardBytes = 0;
        Tokenizer tok = job.model().hasTokenizer() ? job.model().tokenizer() : null;
        for (int s = 0; s < job.saes().size(); s++) {
            List<Path> files = new ArrayList<>();
            for (Source src : sources) {
                for (int i = 0; i < src.markers().size(); i++) {
                    Path file = layout.shard(s, src.shardBase() + i);
                    place(src.layout().shard(s, i), file);
                    files.add(file);
                    shardBytes += Files.size(file);
                    activeRows += src.markers().get(i).rows().get(s);
                }
            }
            Sae sae = job.saes().get(s).sae();
            FeatureStats stats = statsSource.stats(s, files);
            LogitTables logits = job.options().logitTables() ? LogitTables.compute(job.model(), sae, LOGIT_TOKENS, progress) : LogitTables.empty(sae.dSae());
            writeFeatures(s, stats, logits, tokens, tok, checksums);
            writeExamples(s, stats, checksums);
        }
        head.completed(new RunManifest.Contents(documents, tokens, activeRows, shards, checksums)).write(layout.runJson());
        return new IndexResult(job.runDir(), documents, tokens, 0, activeRows, shardBytes, shardCount,
                (System.nanoTime() - startedNanos) / 1e9);
    }

    /** The run-relative name of a file a source's marker {@code i} lists (relative to the source's folder). */
    private String runName(Source src, int i, String sourceRelative) {
        for (int s = 0; s < layout.saeIds().size(); s++) {
            String own = src.layout().runDir().relativize(src.layout().shard(s, i)).toString().replace('\\', '/');
            if (own.equals(sourceRelative)) return layout.runDir().relativize(layout.shard(s, src.shardBase() + i)).toString().replace('\\', '/');
        }
        return sourceRelative;
    }

    /** Puts a part's complete shard under its name in the run: a hard link (the same bytes, no copy), else a copy. */
    private static void place(Path from, Path to) throws IOException {
        if (from.equals(to)) return;
        Path tmp = dev.loupe.model.io.AtomicFiles.temporary(to);
        Files.deleteIfExists(tmp);
        try {
            Files.createLink(tmp, from);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(from, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        dev.loupe.model.io.AtomicFiles.publish(tmp, to);
    }

    private void deletePartial() throws IOException {
        Path p = layout.partial();
        if (!Files.isDirectory(p)) return;
        try (Stream<Path> s = Files.list(p)) {
            for (Path f : s.toList()) Files.delete(f);
        }
        Files.delete(p);
    }

    private int writeDocuments(List<Source> parts, List<RunManifest.FileEntry> checksums) throws IOException {
        // A document that spans shards appears in each; its pieces are joined here.
        List<long[]> docs = new ArrayList<>();   // doc_id, token_offset, token_count
        List<String> sources = new ArrayList<>();
        for (Source part : parts) {
            for (ShardMarker m : part.markers()) {
                for (ShardMarker.DocumentPiece d : m.documents()) {
                    if (!docs.isEmpty() && docs.getLast()[0] == d.docId()) {
                        docs.getLast()[2] += d.tokens();
                    } else {
                        docs.add(new long[]{d.docId(), part.tokenBase() + d.tokenOffset(), d.tokens()});
                        sources.add(String.valueOf(d.source()));   // "null" for a document its iterator named none
                    }
                }
            }
        }
        try (ArrowFiles.Writer w = new ArrowFiles.Writer(layout.runDir().resolve(RunLayout.DOCUMENTS),
                RunTables.Documents.schema(metadata(job, runId, -1)), Compression.NONE, allocator)) {
            IntVector id = RunTables.DOC_ID.in(w);
            BigIntVector off = RunTables.Documents.TOKEN_OFFSET.in(w);
            IntVector count = RunTables.Documents.TOKEN_COUNT.in(w);
            VarCharVector src = RunTables.Documents.SOURCE.in(w);
            int batch = 4096;
            for (int start = 0; start < docs.size() || start == 0; start += batch) {
                int n = Math.min(batch, docs.size() - start);
                id.allocateNew(n);
                off.allocateNew(n);
                count.allocateNew(n);
                src.allocateNew(n);
                for (int i = 0; i < n; i++) {
                    long[] d = docs.get(start + i);
                    id.set(i, (int) d[0]);
                    off.set(i, d[1]);
                    count.set(i, Math.toIntExact(d[2]));
                    src.setSafe(i, sources.get(start + i).getBytes(StandardCharsets.UTF_8));
                }
                id.setValueCount(n);
                off.setValueCount(n);
                count.setValueCount(n);
                src.setValueCount(n);
                w.writeBatch(n);
                if (docs.isEmpty()) break;
            }
            checksums.add(RunManifest.FileEntry.of(layout.runDir(), w.file(), w.finish()));
        }
        return docs.size();
    }

    /** Joins the token parts into tokens.arrow, in batches of exactly batch_tokens rows (the last fewer). */
    private void writeTokens(List<Source> sources, List<RunManifest.FileEntry> checksums) throws IOException {
        Path file = layout.runDir().resolve(RunLayout.TOKENS);
        try (RowsWriter w = RowsWriter.tokens(file, metadata(job, runId, -1), job.options().compression(), allocator, job.options().batchTokens())) {
            for (Source src : sources) for (int s = 0; s < src.markers().size(); s++) {
                Path part = src.layout().tokenPart(s);
                ArrowFiles.forEachBatch(part, allocator, root -> {
                    RunTables.Tokens.Batch b = RunTables.Tokens.Batch.read(root, part);
                    for (int i = 0; i < b.tokenId().length; i++) {
                        w.add(b.docId()[i], b.pos()[i], b.tokenId()[i], 0f);
                        w.endToken();
                    }
                });
            }
            checksums.add(RunManifest.FileEntry.of(layout.runDir(), file, w.finish()));
        }
    }

    private void writeFeatures(int s, FeatureStats st, LogitTables lt, long tokens, Tokenizer tok, List<RunManifest.FileEntry> checksums) throws IOException {
        Path file = layout.saeDir(s).resolve(RunLayout.FEATURES);
        try (ArrowFiles.Writer w = new ArrowFiles.Writer(file, RunTables.Features.schema(metadata(job, runId, s)), Compression.NONE, allocator)) {
            IntVector id = RunTables.FEATURE_ID.in(w);
            BigIntVector fire = RunTables.Features.FIRE_COUNT.in(w);
            Float8Vector density = RunTables.Features.DENSITY.in(w);
            Float4Vector max = RunTables.Features.MAX_ACTIVATION.in(w), mean = RunTables.Features.MEAN_ACTIVATION.in(w);
            ListVector edges = RunTables.Features.HIST_EDGES.in(w), counts = RunTables.Features.HIST_COUNTS.in(w);
            RunTables.Features.LogitColumns p = RunTables.Features.PROMOTED, sp = RunTables.Features.SUPPRESSED;
            ListVector pIds = p.ids().in(w), pVals = p.values().in(w), pToks = p.tokens().in(w);
            ListVector sIds = sp.ids().in(w), sVals = sp.values().in(w), sToks = sp.tokens().in(w);
            for (int f0 = 0; f0 < st.dSae; f0 += FEATURES_PER_BATCH) {
                int n = Math.min(FEATURES_PER_BATCH, st.dSae - f0);
                w.root().clear();
                w.root().allocateNew();
                UnionListWriter we = edges.getWriter(), wc = counts.getWriter(), wpi = pIds.getWriter(), wpv = pVals.getWriter(),
                        wpt = pToks.getWriter(), wsi = sIds.getWriter(), wsv = sVals.getWriter(), wst = sToks.getWriter();
                for (int i = 0; i < n; i++) {
                    int f = f0 + i;
                    id.setSafe(i, f);
                    fire.setSafe(i, st.fireCount[f]);
                    density.setSafe(i, tokens == 0 ? 0 : (double) st.fireCount[f] / tokens);
                    max.setSafe(i, st.max[f]);
                    mean.setSafe(i, st.mean(f));
                    int lo = 0, hi = -1;
                    for (int b = 0; b < FeatureStats.BINS; b++) {
                        if (st.hist[f * FeatureStats.BINS + b] != 0) {
                            if (hi < 0) lo = b;
                            hi = b;
                        }
                    }
                    we.setPosition(i);
                    we.startList();
                    if (hi >= 0) for (int b = lo; b <= hi + 1; b++) we.float4().writeFloat4(FeatureStats.edge(b));
                    we.endList();
                    wc.setPosition(i);
                    wc.startList();
                    if (hi >= 0) for (int b = lo; b <= hi; b++) wc.bigInt().writeBigInt(st.hist[f * FeatureStats.BINS + b]);
                    wc.endList();
                    tokenList(wpi, wpv, wpt, i, lt.promotedIds, lt.promotedValues, f * lt.n, lt.n, tok);
                    tokenList(wsi, wsv, wst, i, lt.suppressedIds, lt.suppressedValues, f * lt.n, lt.n, tok);
                }
                for (ListVector l : new ListVector[]{edges, counts, pIds, pVals, pToks, sIds, sVals, sToks}) l.setValueCount(n);
                id.setValueCount(n);
                fire.setValueCount(n);
                density.setValueCount(n);
                max.setValueCount(n);
                mean.setValueCount(n);
                w.writeBatch(n);
            }
            checksums.add(RunManifest.FileEntry.of(layout.runDir(), w.file(), w.finish()));
        }
    }

    private static void tokenList(UnionListWriter ids, UnionListWriter vals, UnionListWriter texts, int row,
                                  int[] idArr, float[] valArr, int off, int n, Tokenizer tok) {
        ids.setPosition(row);
        vals.setPosition(row);
        texts.setPosition(row);
        ids.startList();
        vals.startList();
        texts.startList();
        for (int i = 0; i < n; i++) {
            ids.integer().writeInt(idArr[off + i]);
            vals.float4().writeFloat4(valArr[off + i]);
            texts.varChar().writeVarChar(tokenText(tok, idArr[off + i]));
        }
        ids.endList();
        vals.endList();
        texts.endList();
    }

    static String tokenText(Tokenizer tok, int id) {
        if (tok == null) return "<" + id + ">";
        return tok.tokenText(id);
    }

    private void writeExamples(int s, FeatureStats st, List<RunManifest.FileEntry> checksums) throws IOException {
        Path file = layout.saeDir(s).resolve(RunLayout.EXAMPLES);
        try (ArrowFiles.Writer w = new ArrowFiles.Writer(file, RunTables.Examples.schema(metadata(job, runId, s)), Compression.NONE, allocator)) {
            IntVector fid = RunTables.FEATURE_ID.in(w), rank = RunTables.Examples.RANK.in(w), doc = RunTables.DOC_ID.in(w), pos = RunTables.POS.in(w);
            VarCharVector kind = RunTables.Examples.KIND.in(w);
            Float4Vector act = RunTables.ACTIVATION.in(w);
            byte[] top = "top".getBytes(StandardCharsets.UTF_8);
            byte[][] qNames = new byte[st.quantiles][];
            for (int q = 0; q < st.quantiles; q++) qNames[q] = ("quantile_" + (q + 1)).getBytes(StandardCharsets.UTF_8);
            for (int f0 = 0; f0 < st.dSae; f0 += FEATURES_PER_BATCH) {
                int fEnd = Math.min(st.dSae, f0 + FEATURES_PER_BATCH);
                w.root().clear();
                w.root().allocateNew();
                int row = 0;
                for (int f = f0; f < fEnd; f++) {
                    int[] order = st.topOrder(f);
                    for (int r = 0; r < order.length; r++) {
                        int i = order[r];
                        fid.setSafe(row, f);
                        kind.setSafe(row, top);
                        rank.setSafe(row, r);
                        doc.setSafe(row, st.topDoc[i]);
                        pos.setSafe(row, st.topPos[i]);
                        act.setSafe(row, st.topValue[i]);
                        row++;
                    }
                    for (int q = 0; q < st.quantiles; q++) {
                        int[] so = st.sampleOrder(f, q);
                        for (int r = 0; r < so.length; r++) {
                            int i = so[r];
                            fid.setSafe(row, f);
                            kind.setSafe(row, qNames[q]);
                            rank.setSafe(row, r);
                            doc.setSafe(row, st.sampleDoc[i]);
                            pos.setSafe(row, st.samplePos[i]);
                            act.setSafe(row, st.sampleValue[i]);
                            row++;
                        }
                    }
                }
                w.root().setRowCount(row);
                w.writeBatch(row);
            }
            checksums.add(RunManifest.FileEntry.of(layout.runDir(), w.file(), w.finish()));
        }
    }
}
