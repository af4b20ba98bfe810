package dev.loupe.notebook.display;

import java.util.ArrayList;
import java.util.List;

/**
 * Curves over a shared x axis, drawn as SVG: {@code Plot.line().title("KL").x("α").series("add", xs, ys)}.
 * Immutable: each call returns a new plot.
 */
public record LinePlot(String title, String xLabel, String yLabel, List<Series> series, int width, int height) implements Chart {
    static final LinePlot EMPTY = new LinePlot(null, null, null, List.of(), 560, 320);

    /** One named curve. */
    public record Series(String name, double[] x, double[] y) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("series '" + name + "': " + x.length + " x values but " + y.length + " y values");
            }
        }
    }

    public LinePlot { series = List.copyOf(series); }

    public LinePlot title(String t) { return new LinePlot(t, xLabel, yLabel, series, width, height); }
    public LinePlot x(String label) { return new LinePlot(title, label, yLabel, series, width, height); }
    public LinePlot y(String label) { return new LinePlot(title, xLabel, label, series, width, height); }
    public LinePlot size(int w, int h) { return new LinePlot(title, xLabel, yLabel, series, w, h); }

    public LinePlot series(String name, double[] x, double[] y) {
        List<Series> s = new ArrayList<>(series);
        s.add(new Series(name, x.clone(), y.clone()));
        return new LinePlot(title, xLabel, yLabel, s, width, height);
    }

    /** A curve over x = 0, 1, 2, ... */
    public LinePlot series(String name, double[] y) {
        double[] x = new double[y.length];
        for (int i = 0; i < x.length; i++) x[i] = i;
        return series(name, x, y);
    }

    public LinePlot series(String name, float[] x, float[] y) { return series(name, widen(x), widen(y)); }

    @Override public String svg() {
        double xLo = Double.POSITIVE_INFINITY, xHi = Double.NEGATIVE_INFINITY, yLo = xLo, yHi = xHi;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                xLo = Math.min(xLo, s.x()[i]); xHi = Math.max(xHi, s.x()[i]);
                yLo = Math.min(yLo, s.y()[i]); yHi = Math.max(yHi, s.y()[i]);
            }
        }
        double[] xr = Svg.range(xLo, xHi), yr = Svg.range(yLo, yHi);
        double pad = (yr[1] - yr[0]) * 0.05;
        int legendWidth = series.size() > 1 ? 130 : 0;
        Svg.Frame f = new Svg.Frame(62, 28, width - 16 - legendWidth, height - 44, xr[0], xr[1], yr[0] - pad, yr[1] + pad);
        StringBuilder b = Svg.open(width, height);
        Svg.axes(b, f, title, xLabel, yLabel);
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            String colour = Svg.COLOURS[k % Svg.COLOURS.length];
            StringBuilder path = new StringBuilder();
            boolean pen = false;
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) { pen = false; continue; }
                path.append(pen ? " L" : " M").append(Svg.num(f.x(s.x()[i]))).append(',').append(Svg.num(f.y(s.y()[i])));
                pen = true;
                b.append("<circle cx=\"").append(Svg.num(f.x(s.x()[i]))).append("\" cy=\"").append(Svg.num(f.y(s.y()[i])))
                        .append("\" r=\"2.5\" fill=\"").append(colour).append("\"/>");
            }
            b.append("<path d=\"").append(path.toString().trim()).append("\" fill=\"none\" stroke=\"").append(colour)
                    .append("\" stroke-width=\"1.8\"/>");
            if (legendWidth > 0) {
                double ly = f.top() + 8 + 18 * k, lx = f.right() + 14;
                Svg.line(b, lx, ly - 4, lx + 18, ly - 4, colour);
                Svg.text(b, lx + 24, ly, "start", s.name());
            }
        }
        return b.append("</svg>").toString();
    }

    @Override public String summary() { return "line plot" + (title == null ? "" : " '" + title + "'") + ", " + series.size() + " series"; }
    @Override public String toString() { return svg(); }

    static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
