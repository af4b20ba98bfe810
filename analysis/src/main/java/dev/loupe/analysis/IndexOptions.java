package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;






/**
 * How a corpus run is made. Every option that changes the files is recorded in {@code run.json}; a resumed run
 * must use the same ones.
 *
 * @param context       tokens per window (Gemma Scope used 1024); windows after a document's first start with
 *                      an added {@code <bos>} that is run but not recorded
 * @param maxTokens     stop after this many corpus tokens (whole windows; 0 = no limit)
 * @param compression   Arrow body compression of the activation shards
 * @param shardTokens   tokens per activation shard (a shard ends at the first window boundary past this)
 * @param batchTokens   tokens per record batch inside a shard, the unit of random access
 * @param topK          top examples per feature
 * @param quantiles     quantile groups of examples per feature
 * @param perQuantile   examples per quantile group
 * @param seed          seed of the quantile-example reservoirs
 * @param skipBadLines  skip malformed corpus lines (with a warning) instead of failing
 * @param logitTables   compute the promoted/suppressed token tables ({@code W_dec · W_U}: for a 1M-wide SAE an hour of
 *                      CPU); without them those list columns are empty
 */
public record IndexOptions(int context, long maxTokens, Compression compression, int shardTokens, int batchTokens,
                           int topK, int quantiles, int perQuantile, long seed, boolean skipBadLines, boolean logitTables) {
    public IndexOptions {
        if (context < 2) throw BadInputException.of("context", "must be at least 2, got " + context);
        if (maxTokens < 0) throw BadInputException.of("maxTokens", "must be >= 0, got " + maxTokens);
        if (shardTokens < 1) throw BadInputException.of("shardTokens", "must be >= 1, got " + shardTokens);
        if (batchTokens < 1) throw BadInputException.of("batchTokens", "must be >= 1, got " + batchTokens);
        if (topK < 1 || quantiles < 0 || perQuantile < 0) throw new BadInputException("example counts must be positive");
        if (compression == null) throw new IllegalArgumentException("compression is null");
    }

    public static IndexOptions defaults() {
        return new IndexOptions(1024, 0, Compression.ZSTD, 1 << 16, 256, 20, 5, 5, 42L, false, true);
    }

    public IndexOptions withContext(int c) { return new IndexOptions(c, maxTokens, compression, shardTokens, batchTokens, topK, quantiles, perQuantile, seed, skipBadLines, logitTables); }

    public IndexOptions withMaxTokens(long m) { return new IndexOptions(context, m, compression, shardTokens, batchTokens, topK, quantiles, perQuantile, seed, skipBadLines, logitTables); }

    public IndexOptions withCompression(Compression c) { return new IndexOptions(context, maxTokens, c, shardTokens, batchTokens, topK, quantiles, perQuantile, seed, skipBadLines, logitTables); }

    public IndexOptions withShardTokens(int s) { return new IndexOptions(context, maxTokens, compression, s, batchTokens, topK, quantiles, perQuantile, seed, skipBadLines, logitTables); }

    public IndexOptions withLogitTables(boolean b) { return new IndexOptions(context, maxTokens, compression, shardTokens, batchTokens, topK, quantiles, perQuantile, seed, skipBadLines, b); }

    public IndexOptions withSkipBadLines(boolean b) { return new IndexOptions(context, maxTokens, compression, shardTokens, batchTokens, topK, quantiles, perQuantile, seed, b, logitTables); }
}
