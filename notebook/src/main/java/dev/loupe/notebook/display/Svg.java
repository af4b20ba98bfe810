package dev.loupe.notebook.display;

import java.util.Locale;

/** Small SVG drawing helpers shared by the charts: number formatting, axis ticks, text. */
final class Svg {
    private Svg() {}

    static final String FONT = "font-family=\"sans-serif\" font-size=\"11\"";
    static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

    static StringBuilder open(int width, int height) {
        return new StringBuilder().append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width)
                .append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(width).append(' ').append(height)
                .append("\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    }

    static String num(double v) { return String.format(Locale.ROOT, "%.2f", v); }

    /** A tick label: short, without trailing zeros. */
    static String label(double v) {
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e5 || a < 1e-3) return String.format(Locale.ROOT, "%.1e", v);
        String s = String.format(Locale.ROOT, "%.4f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    static void text(StringBuilder b, double x, double y, String anchor, String s) {
        b.append("<text x=\"").append(num(x)).append("\" y=\"").append(num(y)).append("\" text-anchor=\"").append(anchor)
                .append("\" ").append(FONT).append('>').append(Html.escape(s)).append("</text>");
    }

    static void line(StringBuilder b, double x1, double y1, double x2, double y2, String stroke) {
        b.append("<line x1=\"").append(num(x1)).append("\" y1=\"").append(num(y1)).append("\" x2=\"").append(num(x2))
                .append("\" y2=\"").append(num(y2)).append("\" stroke=\"").append(stroke).append("\"/>");
    }

    /** About five round tick values covering [lo, hi]. */
    static double[] ticks(double lo, double hi) {
        if (!(hi > lo)) return new double[]{lo};
        double raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
        double first = Math.ceil(lo / step - 1e-9) * step;
        int n = (int) Math.floor((hi - first) / step + 1e-9) + 1;
        double[] t = new double[Math.max(n, 1)];
        for (int i = 0; i < t.length; i++) t[i] = first + i * step;
        return t;
    }

    /** Widens [lo, hi] so a flat series still gets an axis. */
    static double[] range(double lo, double hi) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi)) return new double[]{0, 1};
        if (hi > lo) return new double[]{lo, hi};
        double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
        return new double[]{lo - pad, hi + pad};
    }

    /** Plot frame: axes with ticks and labels, inside margins; returns nothing, draws into {@code b}. */
    static void axes(StringBuilder b, Frame f, String title, String xLabel, String yLabel) {
        line(b, f.left(), f.bottom(), f.right(), f.bottom(), "#333");
        line(b, f.left(), f.top(), f.left(), f.bottom(), "#333");
        for (double t : ticks(f.xLo(), f.xHi())) {
            double x = f.x(t);
            line(b, x, f.bottom(), x, f.bottom() + 4, "#333");
            text(b, x, f.bottom() + 16, "middle", label(t));
        }
        for (double t : ticks(f.yLo(), f.yHi())) {
            double y = f.y(t);
            line(b, f.left() - 4, y, f.left(), y, "#333");
            line(b, f.left(), y, f.right(), y, "#eee");
            text(b, f.left() - 7, y + 4, "end", label(t));
        }
        if (title != null) text(b, (f.left() + f.right()) / 2, 16, "middle", title);
        if (xLabel != null) text(b, (f.left() + f.right()) / 2, f.bottom() + 34, "middle", xLabel);
        if (yLabel != null) {
            b.append("<g transform=\"translate(14,").append(num((f.top() + f.bottom()) / 2)).append(") rotate(-90)\">");
            text(b, 0, 0, "middle", yLabel);
            b.append("</g>");
        }
    }

    /** The plotting area in pixels and the data range it shows. */
    record Frame(double left, double top, double right, double bottom, double xLo, double xHi, double yLo, double yHi) {
        double x(double v) { return left + (v - xLo) / (xHi - xLo) * (right - left); }
        double y(double v) { return bottom - (v - yLo) / (yHi - yLo) * (bottom - top); }
    }
}
