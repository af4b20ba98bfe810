package dev.loupe.analysis.flags;

import dev.loupe.analysis.Compression;
import dev.loupe.analysis.IndexOptions;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/**
 * The flags of a corpus run that {@code loupe index} and {@code loupe-spark} share (a picocli mixin): the SAEs, the
 * corpus and the run's {@link IndexOptions}, with one name, default and help text for both front ends. It sits in
 * {@code analysis}, the lowest module both depend on (spark sits beside cli, not above it); picocli is an optional
 * dependency here, so that library users of {@code analysis} do not get it.
 */
public final class CorpusRunFlags {
    @Option(names = "--sae", required = true, paramLabel = "DIR",
            description = "Gemma Scope folder (params.npz) or SAELens folder (cfg.json); repeat for several SAEs in one pass")
    List<Path> saes;

    @Option(names = "--hook", paramLabel = "NAME", description = "hook point the SAEs read (default: from each folder)")
    String hook;

    @Option(names = "--corpus", required = true, paramLabel = "FILE",
            description = ".txt (one document per line), .jsonl (\"text\" or \"tokens\" field), or a folder of them")
    Path corpus;

    @Option(names = "--context", paramLabel = "N", description = "tokens per window (default: ${DEFAULT-VALUE}, as Gemma Scope)")
    int context = 1024;

    @Option(names = "--max-tokens", paramLabel = "N", description = "stop after N corpus tokens (default: all)")
    long maxTokens;

    @Option(names = "--compression", paramLabel = "zstd|lz4|none", description = "Arrow body compression of the shards (default: ${DEFAULT-VALUE})")
    String compression = "zstd";

    @Option(names = "--shard-tokens", paramLabel = "N", description = "tokens per activation shard (default: ${DEFAULT-VALUE})")
    int shardTokens = IndexOptions.defaults().shardTokens();

    @Option(names = "--skip-bad-lines", description = "skip malformed corpus lines (with a warning) instead of stopping")
    boolean skipBadLines;

    public List<Path> saes() { return saes; }

    /** The hook the SAEs read, or null for each folder's own. */
    public String hook() { return hook; }

    public Path corpus() { return corpus; }

    public boolean skipBadLines() { return skipBadLines; }

    /** The run's options from these flags; {@code logitTables} comes from each front end's own flag. */
    public IndexOptions options(boolean logitTables) {
        return IndexOptions.defaults().withContext(context).withMaxTokens(maxTokens).withCompression(Compression.parse(compression))
                .withShardTokens(shardTokens).withSkipBadLines(skipBadLines).withLogitTables(logitTables);
    }
}
