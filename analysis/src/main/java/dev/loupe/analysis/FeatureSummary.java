package dev.loupe.analysis;

import java.util.List;

/**
 * One row of {@code features.arrow}: how often a feature fires over the run and what it promotes.
 *
 * @param fireCount      tokens where the feature is active
 * @param density        {@code fireCount / tokens of the run}
 * @param maxActivation  the largest activation (0 when it never fires)
 * @param meanActivation the mean over the tokens where it fires (0 when it never fires)
 * @param topPromoted    the 10 tokens with the largest {@code W_dec[f] · W_U}, largest first
 * @param topSuppressed  the 10 tokens with the smallest, smallest first
 */
public record FeatureSummary(int featureId, long fireCount, double density, float maxActivation, float meanActivation,
                             List<TokenValue> topPromoted, List<TokenValue> topSuppressed) {
    public FeatureSummary {
        topPromoted = List.copyOf(topPromoted);
        topSuppressed = List.copyOf(topSuppressed);
    }
}
