package dev.loupe.analysis;

/**
 * Counts of a feature's non-zero activations in log-spaced bins: bin {@code i} holds values in
 * {@code [edges[i], edges[i+1])} ({@code edges.length == counts.length + 1}); values below the first edge are
 * counted in the first bin and values above the last in the last. Empty leading and trailing bins are trimmed.
 */
public record Histogram(float[] edges, long[] counts) {
    public Histogram {
        if (counts.length > 0 && edges.length != counts.length + 1) {
            throw new IllegalArgumentException("histogram: " + edges.length + " edges for " + counts.length + " bins");
        }
    }

    public long total() {
        long t = 0;
        for (long c : counts) t += c;
        return t;
    }
}
