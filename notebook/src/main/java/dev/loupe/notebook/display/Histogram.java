package dev.loupe.notebook.display;

/**
 * Counts in bins, drawn as SVG bars. {@code Plot.histogram(values, 30)} bins raw values; {@code Plot.histogram(edges,
 * counts)} draws bins computed elsewhere (a feature store's log-spaced ones included: bars keep their true widths).
 */
public record Histogram(float[] edges, long[] counts, String title, String xLabel, String yLabel, int width, int height)
        implements Chart {

    public Histogram {
        if (edges.length != counts.length + 1) {
            throw new IllegalArgumentException("histogram: " + edges.length + " edges for " + counts.length + " bins (expected bins + 1)");
        }
    }

    static Histogram of(float[] values, int bins) {
        if (bins < 1) throw new IllegalArgumentException("histogram: bins must be >= 1, got " + bins);
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : values) if (Float.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        if (lo > hi) { lo = 0; hi = 1; }
        if (hi == lo) hi = lo + 1;
        float[] edges = new float[bins + 1];
        for (int i = 0; i <= bins; i++) edges[i] = lo + (hi - lo) * i / bins;
        long[] counts = new long[bins];
        for (float v : values) {
            if (!Float.isFinite(v)) continue;
            int i = (int) ((v - lo) / (hi - lo) * bins);
            counts[Math.min(bins - 1, Math.max(0, i))]++;
        }
        return new Histogram(edges, counts, null, "value", "count", 560, 300);
    }

    static Histogram binned(float[] edges, long[] counts) {
        return new Histogram(edges.clone(), counts.clone(), null, "value", "count", 560, 300);
    }

    public Histogram title(String t) { return new Histogram(edges, counts, t, xLabel, yLabel, width, height); }
    public Histogram x(String label) { return new Histogram(edges, counts, title, label, yLabel, width, height); }
    public Histogram y(String label) { return new Histogram(edges, counts, title, xLabel, label, width, height); }
    public Histogram size(int w, int h) { return new Histogram(edges, counts, title, xLabel, yLabel, w, h); }

    public long total() {
        long t = 0;
        for (long c : counts) t += c;
        return t;
    }

    @Override public String svg() {
        long max = 1;
        for (long c : counts) max = Math.max(max, c);
        Svg.Frame f = new Svg.Frame(62, 28, width - 16, height - 44, edges[0], edges[edges.length - 1], 0, max * 1.05);
        StringBuilder b = Svg.open(width, height);
        Svg.axes(b, f, title, xLabel, yLabel);
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) continue;
            double x0 = f.x(edges[i]), x1 = f.x(edges[i + 1]), y = f.y(counts[i]);
            b.append("<rect x=\"").append(Svg.num(x0)).append("\" y=\"").append(Svg.num(y)).append("\" width=\"")
                    .append(Svg.num(Math.max(1, x1 - x0 - 1))).append("\" height=\"").append(Svg.num(f.bottom() - y))
                    .append("\" fill=\"#ff7f0e\"><title>[").append(Svg.label(edges[i])).append(", ").append(Svg.label(edges[i + 1]))
                    .append("): ").append(counts[i]).append("</title></rect>");
        }
        return b.append("</svg>").toString();
    }

    @Override public String summary() { return "histogram of " + total() + " values in " + counts.length + " bins"; }
    @Override public String toString() { return svg(); }
}
