package dev.loupe.spark;

import dev.loupe.analysis.Compression;
import dev.loupe.analysis.IndexOptions;

import java.io.Serializable;
import java.util.List;

/**
 * What every task needs to rebuild the corpus run's job on its executor: paths as given (each node must see the
 * model, SAEs, corpus and output at the same paths) and the indexing options. Small and serializable: it travels
 * with each task, the model does not.
 */
record JobSpec(String modelPath, String backend, int threads, List<String> saePaths, String hook, String corpusPath,
               String corpusSha256, String runDir, int context, long maxTokens, String compression, int shardTokens,
               boolean skipBadLines, boolean logitTables, String delayPartition) implements Serializable {
    JobSpec {
        saePaths = List.copyOf(saePaths);
    }

    IndexOptions options() {
        return IndexOptions.defaults().withContext(context).withMaxTokens(maxTokens).withCompression(Compression.parse(compression))
                .withShardTokens(shardTokens).withSkipBadLines(skipBadLines).withLogitTables(logitTables);
    }

    /** What the executor's loaded model and SAEs depend on (tasks of another job in the same JVM reload). */
    String modelKey() { return modelPath + "|" + backend + "|" + threads + "|" + saePaths + "|" + hook; }
}
