package dev.loupe.analysis;

import java.util.List;

/** One page of a feature listing, and how many features matched the query in all. */
public record FeaturePage(List<FeatureSummary> rows, int total) {
    public FeaturePage {
        rows = List.copyOf(rows);
    }
}
