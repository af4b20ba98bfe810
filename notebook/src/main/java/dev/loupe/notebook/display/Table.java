package dev.loupe.notebook.display;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A small HTML table: {@code Table.of("α", "KL").row(10, 0.3)}. Cells that are {@link Html} go in as markup,
 * floating-point numbers are shown with four significant digits, anything else as escaped text.
 */
public record Table(List<String> header, List<List<Object>> rows, String caption) implements Rich {
    public Table {
        header = List.copyOf(header);
        rows = List.copyOf(rows);
    }

    public static Table of(String... header) { return new Table(Arrays.asList(header), List.of(), null); }

    public Table row(Object... cells) {
        if (cells.length != header.size()) {
            throw new IllegalArgumentException("table row has " + cells.length + " cells, the header has " + header.size());
        }
        List<List<Object>> r = new ArrayList<>(rows);
        r.add(Arrays.asList(cells));
        return new Table(header, r, caption);
    }

    public Table caption(String c) { return new Table(header, rows, c); }

    @Override public String mimeType() { return "text/html"; }

    @Override public String content() {
        StringBuilder b = new StringBuilder("<table style=\"border-collapse:collapse\">");
        if (caption != null) b.append("<caption style=\"text-align:left;padding:4px 0\">").append(Html.escape(caption)).append("</caption>");
        b.append("<thead><tr>");
        for (String h : header) b.append("<th style=\"text-align:left;padding:3px 8px;border-bottom:1px solid #999\">").append(Html.escape(h)).append("</th>");
        b.append("</tr></thead><tbody>");
        for (List<Object> row : rows) {
            b.append("<tr>");
            for (Object c : row) b.append("<td style=\"text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid #eee\">").append(cell(c)).append("</td>");
            b.append("</tr>");
        }
        return b.append("</tbody></table>").toString();
    }

    @Override public String summary() { return "table, " + rows.size() + " rows"; }
    @Override public String toString() { return content(); }

    static String cell(Object c) {
        return switch (c) {
            case null -> "";
            case Html h -> h.html();
            case Double d -> Html.escape(format(d));
            case Float f -> Html.escape(format(f));
            default -> Html.escape(String.valueOf(c));
        };
    }

    static String format(double v) {
        if (v == 0 || !Double.isFinite(v)) return String.valueOf(v);
        return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String.format(Locale.ROOT, "%.4g", v).replaceAll("(\\.\\d*?)0+$", "$1").replaceAll("\\.$", "")
                : String.format(Locale.ROOT, "%.3e", v);
    }
}
