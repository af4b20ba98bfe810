package dev.loupe.notebook.display;

import java.util.List;
import java.util.Locale;

/**
 * Text shaded token by token by a value, as Neuronpedia shows a feature's activations: the stronger the value, the
 * deeper the orange; hovering a token shows its value. Negative values (rare for SAE features) shade blue.
 */
public final class Shading {
    private Shading() {}

    /** Tokens shaded by {@code values} (one per token), scaled to the largest absolute value. */
    public static Html of(List<String> tokens, float[] values) { return of(tokens, values, maxAbs(values)); }

    /** Tokens shaded by {@code values}, with {@code scale} as full colour (e.g. a feature's maximum over a corpus). */
    public static Html of(List<String> tokens, float[] values, float scale) {
        if (tokens.size() != values.length) {
            throw new IllegalArgumentException("shading needs one value per token: " + tokens.size() + " tokens, "
                    + values.length + " values");
        }
        StringBuilder b = new StringBuilder("<div style=\"font-family:monospace;line-height:1.9;white-space:pre-wrap\">");
        for (int i = 0; i < values.length; i++) b.append(span(tokens.get(i), values[i], scale));
        return new Html(b.append("</div>").toString());
    }

    /** One token as a shaded span (for tables that mix shaded tokens with other cells). */
    public static String span(String token, float value, float scale) {
        return "<span title=\"" + String.format(Locale.ROOT, "%.3f", value) + "\" style=\"background:"
                + background(value, scale) + ";border-radius:3px;padding:1px 0\">" + Html.escape(visible(token)) + "</span>";
    }

    /** The background colour for {@code value} on a scale where {@code scale} is full colour. */
    public static String background(float value, float scale) {
        double a = scale > 0 && Float.isFinite(value) ? Math.min(1.0, Math.abs(value) / scale) : 0;
        if (a == 0) return "transparent";
        return value > 0 ? String.format(Locale.ROOT, "rgba(255,127,14,%.2f)", a)
                : String.format(Locale.ROOT, "rgba(31,119,180,%.2f)", a);
    }

    /** Newlines would break the line of tokens; show them as the symbol Neuronpedia uses. */
    static String visible(String token) { return token.replace("\n", "\u21b5"); }

    static float maxAbs(float[] values) {
        float m = 0;
        for (float v : values) if (Float.isFinite(v)) m = Math.max(m, Math.abs(v));
        return m;
    }
}
