package dev.loupe.notebook.display;

import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.FeatureCard;
import dev.loupe.analysis.FeaturePage;
import dev.loupe.analysis.FeatureSummary;
import dev.loupe.analysis.TokenValue;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A corpus run's features as notebook output: {@code FeatureView.card(store.card(f, 8))} is a Neuronpedia-style
 * feature card (statistics, activation histogram, logit tables, top and quantile examples shaded by the feature);
 * {@code FeatureView.table(store.features(query))} lists a page of features.
 */
public final class FeatureView {
    private FeatureView() {}

    /** One row per feature of the page: id, how often and how strongly it fires, what it promotes. */
    public static Table table(FeaturePage page) {
        Table t = Table.of("feature", "fire count", "density", "max", "mean", "top promoted tokens")
                .caption(page.rows().size() + " of " + page.total() + " features");
        for (FeatureSummary s : page.rows()) {
            t = t.row(s.featureId(), s.fireCount(), s.density(), s.maxActivation(), s.meanActivation(), tokens(s.topPromoted(), 5));
        }
        return t;
    }

    /** The whole card of one feature. */
    public static Html card(FeatureCard card) {
        FeatureSummary s = card.summary();
        StringBuilder b = new StringBuilder("<div style=\"font-family:sans-serif;max-width:900px\">");
        b.append("<h3 style=\"margin:4px 0\">Feature ").append(s.featureId()).append("</h3>");
        b.append(String.format(Locale.ROOT, "<p style=\"margin:4px 0;color:#444\">fires on %,d tokens (density %.3g), max %.3f, mean when firing %.3f</p>",
                s.fireCount(), s.density(), s.maxActivation(), s.meanActivation()));
        b.append("<div style=\"display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap\"><div>");
        if (card.histogram().counts().length > 0) {
            b.append(Plot.histogram(card.histogram().edges(), card.histogram().counts()).size(340, 210)
                    .title("non-zero activations").x("activation").svg());
        } else {
            b.append("<p>never fires in this run</p>");
        }
        b.append("</div><div>").append(logits("promoted", s.topPromoted())).append("</div><div>")
                .append(logits("suppressed", s.topSuppressed())).append("</div></div>");
        b.append(examples(card.examples(), s.maxActivation()).html());
        return new Html(b.append("</div>").toString());
    }

    /** Examples grouped by kind (top, then quantile bands), each window shaded against {@code max}. */
    public static Html examples(List<Example> examples, float max) {
        StringBuilder b = new StringBuilder();
        String kind = null;
        for (Example e : examples) {
            if (!e.kind().equals(kind)) {
                if (kind != null) b.append("</table>");
                kind = e.kind();
                b.append("<h4 style=\"margin:8px 0 2px\">").append(Html.escape(label(kind))).append("</h4><table style=\"border-collapse:collapse\">");
            }
            b.append("<tr><td style=\"padding:1px 8px;color:#888;font-family:monospace;vertical-align:top\">")
                    .append(String.format(Locale.ROOT, "%.2f", e.activation()))
                    .append("</td><td style=\"padding:1px 4px;font-family:monospace;white-space:pre-wrap\">");
            for (ContextToken t : e.window()) {
                String span = Shading.span(t.text(), t.activation(), max);
                b.append(t.pos() == e.pos() ? "<b>" + span + "</b>" : span);
            }
            b.append("</td></tr>");
        }
        if (kind != null) b.append("</table>");
        return new Html(b.toString());
    }

    private static String label(String kind) {
        if (kind.equals("top")) return "Top activations";
        if (kind.startsWith("quantile_")) return "Quantile band " + kind.substring("quantile_".length()) + " (1 = just below the top)";
        return kind;
    }

    private static String logits(String title, List<TokenValue> values) {
        Table t = Table.of(title, "W_dec·W_U");
        for (TokenValue v : values) t = t.row(v.text(), v.value());
        return t.content();
    }

    private static String tokens(List<TokenValue> values, int k) {
        return values.stream().limit(k).map(v -> "'" + v.text().replace("\n", "\u21b5") + "'").collect(Collectors.joining(" "));
    }
}
