package dev.loupe.notebook.display;

/** A chart drawn as SVG by Loupe itself (no plotting library: notebooks and GitHub show SVG as it is). */
public sealed interface Chart extends Rich permits LinePlot, Histogram, Heatmap {
    /** The SVG document. */
    String svg();

    @Override default String mimeType() { return "image/svg+xml"; }
    @Override default String content() { return svg(); }
}
