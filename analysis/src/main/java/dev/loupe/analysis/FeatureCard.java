package dev.loupe.analysis;

import java.util.List;

/** What a feature page shows: the summary, the activation histogram and the examples with their windows. */
public record FeatureCard(FeatureSummary summary, Histogram histogram, List<Example> examples) {
    public FeatureCard {
        examples = List.copyOf(examples);
    }
}
