package dev.loupe.notebook.display;

import dev.loupe.hooks.Activation;

import java.util.List;

/** Starting points for charts: {@code Plot.line().series("kl", xs, ys)}, {@code Plot.histogram(values, 30)}, ... */
public final class Plot {
    private Plot() {}

    /** An empty line plot; add curves with {@link LinePlot#series}. */
    public static LinePlot line() { return LinePlot.EMPTY; }

    /** A histogram of {@code values} in {@code bins} equal bins between their minimum and maximum. */
    public static Histogram histogram(float[] values, int bins) { return Histogram.of(values, bins); }

    /** A histogram already binned ({@code edges.length == counts.length + 1}), e.g. from a feature store. */
    public static Histogram histogram(float[] edges, long[] counts) { return Histogram.binned(edges, counts); }

    /** A heatmap of a row-major {@code [rows, cols]} matrix. */
    public static Heatmap heatmap(float[] values, int rows, int cols) { return Heatmap.of(values, rows, cols); }

    /**
     * One head of an attention pattern ({@code blocks.L.attn.hook_pattern}, {@code [heads, positions, keys]}):
     * queries down, keys across, labelled with the tokens.
     */
    public static Heatmap attention(Activation pattern, int head, List<String> tokens) {
        int[] s = pattern.shape();
        if (s.length != 3) throw new IllegalArgumentException(pattern.name() + ": expected [heads, positions, keys], got rank " + s.length);
        if (head < 0 || head >= s[0]) throw new IllegalArgumentException(pattern.name() + ": head " + head + " out of range [0, " + s[0] + ")");
        int n = s[1] * s[2];
        float[] slice = new float[n];
        System.arraycopy(pattern.data(), head * n, slice, 0, n);
        return Heatmap.of(slice, s[1], s[2]).rowLabels(tokens.subList(tokens.size() - s[1], tokens.size()))
                .colLabels(tokens.subList(0, Math.min(tokens.size(), s[2])))
                .title(pattern.name() + ", head " + head).x("key").y("query");
    }
}
