package dev.loupe.analysis;

import java.nio.file.Path;

/**
 * What a corpus run did.
 *
 * @param resumedTokens tokens found in complete shards of an interrupted run and not recomputed
 * @param activeRows    rows written to the activation shards, summed over the SAEs
 * @param shardBytes    bytes of the activation shards, summed over the SAEs
 * @param seconds       wall time of this call
 */
public record IndexResult(Path runDir, long documents, long tokens, long resumedTokens, long activeRows,
                          long shardBytes, int shards, double seconds) {
    /** Corpus tokens per second over the tokens this call computed. */
    public double tokensPerSecond() { return seconds > 0 ? (tokens - resumedTokens) / seconds : 0; }
}
