package dev.loupe.cli;

import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.FeatureCard;
import dev.loupe.analysis.FeatureColumn;
import dev.loupe.analysis.FeaturePage;
import dev.loupe.analysis.FeatureQuery;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.FeatureSummary;
import dev.loupe.analysis.Histogram;
import dev.loupe.analysis.TokenValue;
import dev.loupe.errors.BadInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loupe features}: a feature's card from a corpus run, or a listing of the run's features. */
@Command(name = "features", mixinStandardHelpOptions = true,
        description = "Show a feature's card (stats, top tokens, examples with the activating token marked) or list features of a corpus run.")
final class FeaturesCommand implements Callable<Integer> {
    @Mixin RunSelection selection;

    @Option(names = "--feature", paramLabel = "F", description = "the feature whose card to print")
    Integer feature;

    @Option(names = "--list", description = "list features instead")
    boolean list;

    @Option(names = "--sort", paramLabel = "COLUMN", description = "column for --list: density, fire_count, max_activation, mean_activation, feature_id (default: ${DEFAULT-VALUE})")
    String sort = "max_activation";

    @Option(names = "--ascending", description = "smallest first for --list")
    boolean ascending;

    @Option(names = "--top", paramLabel = "N", description = "rows for --list (default: ${DEFAULT-VALUE})")
    int top = 20;

    @Option(names = "--match", paramLabel = "TEXT", description = "for --list: only features whose top promoted tokens contain TEXT")
    String match;

    @Option(names = "--context", paramLabel = "N", description = "tokens shown either side of an example's activating token (default: ${DEFAULT-VALUE})")
    int context = 8;

    @Option(names = "--examples", paramLabel = "N", description = "top examples shown on a card (default: ${DEFAULT-VALUE}); quantile groups show 2 each")
    int examples = 5;

    @Override public Integer call() throws Exception {
        if ((feature == null) == !list) throw new BadInputException("give --feature F or --list (one of them)");
        try (FeatureStore store = selection.open()) {
            if (list) {
                FeatureQuery q = FeatureQuery.all().sortBy(FeatureColumn.parse(sort)).page(0, top).promotedTokenMatching(match);
                q = ascending ? q.ascending() : q.descending();
                System.out.print(listing(store.features(q), FeatureColumn.parse(sort)));
            } else {
                System.out.print(card(store.card(feature, context), store, examples));
            }
        }
        return 0;
    }

    static String listing(FeaturePage page, FeatureColumn by) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%d features match; sorted by %s%n", page.total(), by.column()));
        sb.append(String.format(Locale.ROOT, "%8s  %10s  %10s  %9s  %9s  %s%n", "feature", "fires", "density", "max", "mean", "top promoted tokens"));
        for (FeatureSummary s : page.rows()) {
            sb.append(String.format(Locale.ROOT, "%8d  %10d  %10.3g  %9.3f  %9.3f  %s%n", s.featureId(), s.fireCount(), s.density(),
                    s.maxActivation(), s.meanActivation(), tokens(s.topPromoted(), 5)));
        }
        return sb.toString();
    }

    static String card(FeatureCard c, FeatureStore store, int topShown) {
        FeatureSummary s = c.summary();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Feature %d of %s (%s, d_sae %d)%n", s.featureId(), store.sae().id(), store.sae().hook(), store.featureCount()));
        sb.append(String.format(Locale.ROOT, "  fires on %,d of %,d tokens (density %.3g); max %.3f, mean %.3f when active%n",
                s.fireCount(), store.tokenCount(), s.density(), s.maxActivation(), s.meanActivation()));
        sb.append("  promotes:   ").append(tokenValues(s.topPromoted())).append('\n');
        sb.append("  suppresses: ").append(tokenValues(s.topSuppressed())).append('\n');
        sb.append(histogram(c.histogram()));
        String kind = "";
        int shown = 0;
        for (Example e : c.examples()) {
            if (!e.kind().equals(kind)) {
                kind = e.kind();
                shown = 0;
                sb.append(kind.equals("top") ? "  top examples" : "  " + kind.replace('_', ' ') + " (sampled)").append(":\n");
            }
            if (shown++ >= (kind.equals("top") ? topShown : 2)) continue;
            sb.append(String.format(Locale.ROOT, "    %7.3f  doc %d pos %d  %s%n", e.activation(), e.docId(), e.pos(), window(e)));
        }
        if (c.examples().isEmpty()) sb.append("  no examples: the feature never fires in this run\n");
        return sb.toString();
    }

    /** The window with the activating token in [[ ]] and other active tokens followed by their activation in ( ). */
    static String window(Example e) {
        StringBuilder sb = new StringBuilder();
        for (ContextToken t : e.window()) {
            String text = visible(t.text());
            if (t.pos() == e.pos()) sb.append("[[").append(text).append("]]");
            else if (t.activation() > 0) sb.append(text).append(String.format(Locale.ROOT, "(%.1f)", t.activation()));
            else sb.append(text);
        }
        return sb.toString();
    }

    private static String histogram(Histogram h) {
        if (h.counts().length == 0) return "";
        long max = 1;
        for (long v : h.counts()) max = Math.max(max, v);
        StringBuilder sb = new StringBuilder("  activation histogram (log-spaced bins):\n");
        for (int i = 0; i < h.counts().length; i++) {
            int bar = (int) Math.round(30.0 * h.counts()[i] / max);
            sb.append(String.format(Locale.ROOT, "    %8.3g-%-8.3g %7d %s%n", h.edges()[i], h.edges()[i + 1], h.counts()[i], "#".repeat(bar)));
        }
        return sb.toString();
    }

    private static String tokenValues(List<TokenValue> l) {
        StringBuilder sb = new StringBuilder();
        for (TokenValue t : l) sb.append(sb.isEmpty() ? "" : "  ").append('"').append(visible(t.text())).append('"')
                .append(String.format(Locale.ROOT, " %.2f", t.value()));
        return sb.toString();
    }

    private static String tokens(List<TokenValue> l, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, l.size()); i++) sb.append(i == 0 ? "" : " ").append('"').append(visible(l.get(i).text())).append('"');
        return sb.toString();
    }

    private static String visible(String s) { return s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r"); }
}
