package dev.loupe.analysis;

import dev.loupe.model.Gemma2;
import dev.loupe.sae.Sae;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/**
 * Runs documents through a model and one or more SAEs and writes a corpus run: the library form of
 * {@code loupe index}. One forward pass per window to the deepest SAE's hook (no logits); activation shards
 * written under a temporary name and renamed; then the per-feature summaries. No global state: a distributed
 * engine can run one per partition into its own folder.
 */
public final class CorpusIndexer {

    /**
     * What a run is over, for {@code run.json} and to recognise a run folder when resuming: the corpus path
     * as given (or a partition name) and a hash of its content (the same documents must give the same hash).
     */
    public record CorpusId(String path, String sha256) {}

    private CorpusIndexer() {}

    /**
     * Indexes {@code documents} into {@code runDir}. When {@code runDir} holds an interrupted run of the same
     * model, SAEs, corpus and options, it resumes after its last complete shard (skipping the documents that
     * shard covers); when it holds a different run, it fails without touching it.
     */
    public static IndexResult index(Gemma2 model, String modelPath, List<Sae> saes, List<String> saePaths, Iterator<Document> documents,
                                    CorpusId corpus, Path runDir, IndexOptions options, IndexProgress progress) throws IOException {
        throw new UnsupportedOperationException("analysis API skeleton");
    }
}
