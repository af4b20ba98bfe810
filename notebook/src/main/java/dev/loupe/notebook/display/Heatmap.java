package dev.loupe.notebook.display;

import java.util.List;

/** A matrix as coloured cells (white to dark blue), e.g. an attention pattern; hovering a cell shows its value. */
public record Heatmap(float[] values, int rows, int cols, List<String> rowLabels, List<String> colLabels,
                      String title, String xLabel, String yLabel) implements Chart {

    public Heatmap {
        if ((long) rows * cols != values.length) {
            throw new IllegalArgumentException("heatmap: " + rows + "x" + cols + " cells but " + values.length + " values");
        }
        rowLabels = List.copyOf(rowLabels);
        colLabels = List.copyOf(colLabels);
    }

    static Heatmap of(float[] values, int rows, int cols) {
        return new Heatmap(values.clone(), rows, cols, List.of(), List.of(), null, null, null);
    }

    public Heatmap rowLabels(List<String> l) { return new Heatmap(values, rows, cols, l, colLabels, title, xLabel, yLabel); }
    public Heatmap colLabels(List<String> l) { return new Heatmap(values, rows, cols, rowLabels, l, title, xLabel, yLabel); }
    public Heatmap title(String t) { return new Heatmap(values, rows, cols, rowLabels, colLabels, t, xLabel, yLabel); }
    public Heatmap x(String l) { return new Heatmap(values, rows, cols, rowLabels, colLabels, title, l, yLabel); }
    public Heatmap y(String l) { return new Heatmap(values, rows, cols, rowLabels, colLabels, title, xLabel, l); }

    @Override public String svg() {
        int cell = Math.max(8, Math.min(28, 480 / Math.max(rows, cols)));
        int left = 24 + labelWidth(rowLabels), top = 36, bottom = 24 + labelWidth(colLabels);
        int width = left + cols * cell + 70, height = top + rows * cell + bottom;
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : values) if (Float.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        if (!(hi > lo)) { lo = Math.min(0, lo); hi = lo + 1; }
        StringBuilder b = Svg.open(width, height);
        if (title != null) Svg.text(b, left + cols * cell / 2.0, 16, "middle", title);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float v = values[r * cols + c];
                b.append("<rect x=\"").append(left + c * cell).append("\" y=\"").append(top + r * cell).append("\" width=\"")
                        .append(cell).append("\" height=\"").append(cell).append("\" fill=\"").append(colour((v - lo) / (hi - lo)))
                        .append("\"><title>").append(Html.escape(label(rowLabels, r) + " \u2192 " + label(colLabels, c)))
                        .append(": ").append(Svg.label(v)).append("</title></rect>");
            }
            if (!rowLabels.isEmpty()) Svg.text(b, left - 4, top + r * cell + cell / 2.0 + 4, "end", Shading.visible(label(rowLabels, r)));
        }
        for (int c = 0; c < colLabels.size() && c < cols; c++) {
            double x = left + c * cell + cell / 2.0 + 4, y = top + rows * cell + 6;
            b.append("<g transform=\"translate(").append(Svg.num(x)).append(',').append(Svg.num(y)).append(") rotate(-90)\">");
            Svg.text(b, 0, 0, "end", Shading.visible(label(colLabels, c)));
            b.append("</g>");
        }
        if (yLabel != null) {
            b.append("<g transform=\"translate(12,").append(top + rows * cell / 2).append(") rotate(-90)\">");
            Svg.text(b, 0, 0, "middle", yLabel);
            b.append("</g>");
        }
        if (xLabel != null) Svg.text(b, left + cols * cell / 2.0, height - 6, "middle", xLabel);
        // Colour bar: the value range.
        int barX = left + cols * cell + 16, barH = Math.max(40, rows * cell);
        for (int i = 0; i < 20; i++) {
            b.append("<rect x=\"").append(barX).append("\" y=\"").append(Svg.num(top + barH * i / 20.0)).append("\" width=\"10\" height=\"")
                    .append(Svg.num(barH / 20.0 + 0.5)).append("\" fill=\"").append(colour(1 - i / 19.0)).append("\"/>");
        }
        Svg.text(b, barX + 13, top + 9, "start", Svg.label(hi));
        Svg.text(b, barX + 13, top + barH, "start", Svg.label(lo));
        return b.append("</svg>").toString();
    }

    @Override public String summary() { return "heatmap " + rows + "x" + cols + (title == null ? "" : " '" + title + "'"); }
    @Override public String toString() { return svg(); }

    private static String label(List<String> labels, int i) { return i < labels.size() ? labels.get(i) : String.valueOf(i); }

    private static int labelWidth(List<String> labels) {
        int m = 0;
        for (String l : labels) m = Math.max(m, Math.min(l.length(), 16));
        return m * 7;
    }

    /** White (0) to dark blue (1). */
    static String colour(double t) {
        t = Math.max(0, Math.min(1, t));
        int r = (int) Math.round(255 - t * (255 - 8)), g = (int) Math.round(255 - t * (255 - 48)), bl = (int) Math.round(255 - t * (255 - 107));
        return String.format("#%02x%02x%02x", r, g, bl);
    }
}
