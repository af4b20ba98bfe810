package dev.loupe.analysis;

import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Benchmark tool (not a test): how long FeatureStore takes to open a run and to answer feature cards with examples,
 * first in a cold JVM, then for features it has not seen. Run:
 * {@code java -cp "analysis/target/classes:analysis/target/test-classes:cli/target/lib/*" dev.loupe.analysis.CardLatency RUN_DIR [N]}
 */
public final class CardLatency {
    private CardLatency() {}

    public static void main(String[] args) throws Exception {
        Path run = Path.of(args[0]);
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        long t0 = System.nanoTime();
        try (FeatureStore store = FeatureStore.open(run)) {
            long t1 = System.nanoTime();
            SplittableRandom rnd = new SplittableRandom(7);
            double first = -1, worst = 0, total = 0;
            int examples = 0;
            for (int i = 0; i < n; i++) {
                int f = rnd.nextInt(store.featureCount());
                long a = System.nanoTime();
                FeatureCard c = store.card(f, 8);
                double ms = (System.nanoTime() - a) / 1e6;
                examples += c.examples().size();
                if (i == 0) first = ms;
                else {
                    worst = Math.max(worst, ms);
                    total += ms;
                }
            }
            System.out.printf(Locale.ROOT, "run %s: %d features, %,d tokens; open %.0f ms; first card %.0f ms; next %d cards mean %.1f ms, worst %.1f ms; %.1f examples per card%n",
                    run, store.featureCount(), store.tokenCount(), (t1 - t0) / 1e6, first, n - 1, total / (n - 1), worst, (double) examples / n);
        }
    }
}
