package dev.loupe.analysis.explain;

import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.FeatureSummary;
import dev.loupe.analysis.TokenValue;
import dev.loupe.errors.BadInputException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Auto-interpretation of a corpus run's features as Delphi does it: an explainer model reads a feature's top and
 * quantile examples (activating tokens marked {@code <<like this>>}) and its promoted tokens and answers with an
 * explanation; a scorer model then tests the explanation on held-out examples, by <b>detection</b> (which excerpts,
 * activating or not (random, and similar ones sharing the top token), make the feature fire?) and <b>fuzzing</b>
 * (which excerpts have the right tokens marked?). Each score is a balanced accuracy ({@link Scoring}). Results go to
 * {@code explanations.arrow}; a feature already explained by the same model and method is skipped, so an interrupted
 * run resumes where it stopped. Requests and tokens are counted as they go.
 */
public final class Explainer {
    public static final String METHOD = "loupe-autointerp";
    static final int EXPLAIN_TOP = 10;
    static final int SCORE_ACTIVATING = 6;

    /**
     * @param features    the features to explain, in order
     * @param concurrency features explained at once
     * @param context     tokens either side of an example's activating token
     */
    public record Options(List<Integer> features, int concurrency, int context) {
        public Options {
            if (concurrency < 1) throw BadInputException.of("concurrency", "must be >= 1, got " + concurrency);
            if (context < 1) throw BadInputException.of("context", "must be >= 1, got " + context);
            features = List.copyOf(features);
        }
    }

    /** What a run did. */
    public record Summary(int explained, int skipped, int withoutExamples, long requests, long promptTokens, long completionTokens) {}

    /** A window of tokens with the feature's activation at each. */
    record Excerpt(List<String> tokens, float[] acts) {
        static Excerpt of(List<ContextToken> window) {
            float[] a = new float[window.size()];
            List<String> t = new ArrayList<>();
            for (int i = 0; i < a.length; i++) {
                a[i] = window.get(i).activation();
                t.add(window.get(i).text());
            }
            return new Excerpt(t, a);
        }

        boolean[] active() {
            boolean[] m = new boolean[acts.length];
            for (int i = 0; i < m.length; i++) m[i] = acts[i] > 0;
            return m;
        }

        /** The text with runs of marked tokens wrapped in {@code << >>}. */
        String marked(boolean[] marks) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < tokens.size(); i++) {
                if (marks != null && marks[i] && (i == 0 || !marks[i - 1])) sb.append("<<");
                sb.append(tokens.get(i));
                if (marks != null && marks[i] && (i == tokens.size() - 1 || !marks[i + 1])) sb.append(">>");
            }
            return sb.toString().replace("\n", "\\n");
        }
    }

    private final FeatureStore store;
    private final ChatClient client;
    private final Prompts prompts;
    private final Options options;
    private final PrintStream log;
    private final AtomicLong requests = new AtomicLong(), promptTokens = new AtomicLong(), completionTokens = new AtomicLong();

    public Explainer(FeatureStore store, ChatClient client, Prompts prompts, Options options, PrintStream log) {
        this.store = store;
        this.client = client;
        this.prompts = prompts;
        this.options = options;
        this.log = log;
    }

    /** Explains and scores the features not yet explained by this model and method; writes explanations.arrow as it goes. */
    public Summary run() throws IOException, InterruptedException {
        Path file = ExplanationsFile.of(store);
        List<ExplanationsFile.Row> rows = Collections.synchronizedList(new ArrayList<>(ExplanationsFile.read(file)));
        Set<Integer> done = new HashSet<>();
        for (ExplanationsFile.Row r : rows) if (METHOD.equals(r.method()) && client.model().equals(r.explainerModel())) done.add(r.featureId());
        List<Integer> todo = options.features().stream().filter(f -> !done.contains(f)).toList();
        int skipped = options.features().size() - todo.size();
        if (skipped > 0) log.println("explain: " + skipped + " features already explained by " + client.model() + " in " + file + ": skipped");
        int[] explained = {0}, withoutExamples = {0};
        ExecutorService pool = Executors.newFixedThreadPool(options.concurrency(), Thread.ofVirtual().factory());
        try {
            List<Future<ExplanationsFile.Row>> futures = new ArrayList<>();
            for (int f : todo) futures.add(pool.submit(() -> explain(f)));
            int sinceWrite = 0;
            for (Future<ExplanationsFile.Row> fu : futures) {
                ExplanationsFile.Row r;
                try {
                    r = fu.get();
                } catch (ExecutionException e) {
                    pool.shutdownNow();
                    ExplanationsFile.write(file, rows);
                    if (e.getCause() instanceof IOException io) throw io;
                    if (e.getCause() instanceof RuntimeException re) throw re;
                    throw new IOException(e.getCause());
                }
                if (r == null) {
                    withoutExamples[0]++;
                    continue;
                }
                rows.add(r);
                explained[0]++;
                if (++sinceWrite >= 10) {
                    ExplanationsFile.write(file, rows);
                    sinceWrite = 0;
                }
            }
            ExplanationsFile.write(file, rows);
        } finally {
            pool.shutdownNow();
        }
        return new Summary(explained[0], skipped, withoutExamples[0], requests.get(), promptTokens.get(), completionTokens.get());
    }

    private ChatClient.Reply ask(String system, String user, int maxTokens) throws IOException, InterruptedException {
        ChatClient.Reply r = client.ask(system, user, maxTokens, 0);
        requests.incrementAndGet();
        promptTokens.addAndGet(r.promptTokens());
        completionTokens.addAndGet(r.completionTokens());
        return r;
    }

    /** The explainer's user message for a feature. */
    String explainerPrompt(List<Excerpt> shown, FeatureSummary s) {
        StringBuilder ex = new StringBuilder();
        for (int i = 0; i < shown.size(); i++) ex.append("Example ").append(i + 1).append(": ").append(shown.get(i).marked(shown.get(i).active())).append('\n');
        List<String> promoted = s.topPromoted().stream().limit(10).map(TokenValue::text).map(t -> "\"" + t + "\"").toList();
        return prompts.explainer().fill(Map.of("examples", ex.toString().strip(), "promoted", String.join(", ", promoted)));
    }

    /** A scorer's user message: numbered excerpts under the explanation. */
    static String scoringPrompt(Prompts.Template t, String explanation, List<String> texts) {
        StringBuilder ex = new StringBuilder();
        for (int i = 0; i < texts.size(); i++) ex.append("Excerpt ").append(i + 1).append(": ").append(texts.get(i)).append('\n');
        return t.fill(Map.of("explanation", explanation, "examples", ex.toString().strip(), "n", String.valueOf(texts.size())));
    }

    ExplanationsFile.Row explain(int f) throws IOException, InterruptedException {
        List<Example> examples = store.examples(f, options.context());
        if (examples.isEmpty()) {
            log.println("feature " + f + ": never fires in the run, nothing to explain");
            return null;
        }
        Random rnd = new Random(f);
        // Shown to the explainer: the top examples and one of each quantile band; the rest are held out for scoring.
        List<Excerpt> shown = new ArrayList<>(), held = new ArrayList<>();
        Set<String> bands = new HashSet<>();
        int tops = 0;
        for (Example e : examples) {
            boolean show = e.kind().equals("top") ? tops++ < EXPLAIN_TOP : bands.add(e.kind());
            (show ? shown : held).add(Excerpt.of(e.window()));
        }
        if (held.isEmpty()) held.addAll(shown);
        Collections.shuffle(held, rnd);
        List<Excerpt> activating = new ArrayList<>(held.subList(0, Math.min(SCORE_ACTIVATING, held.size())));
        FeatureSummary summary = store.summary(f);
        String user = explainerPrompt(shown, summary);
        String explanation = Scoring.explanation(ask(prompts.explainer().system(), user, 400).text());

        // Detection: the activating excerpts unmarked, against as many where the feature is silent, half of them
        // similar (around the token the top example fires on) and the rest random.
        List<Excerpt> silent = NonActivating.find(store, f, options.context(), examples.getFirst(), activating.size(), rnd);
        List<String> texts = new ArrayList<>();
        List<Boolean> truth = new ArrayList<>();
        for (Excerpt x : activating) { texts.add(x.marked(null)); truth.add(true); }
        for (Excerpt x : silent) { texts.add(x.marked(null)); truth.add(false); }
        Double detection = score(prompts.detection(), explanation, texts, truth, rnd);

        // Fuzzing: the activating excerpts, half with the right tokens marked, half with as many wrong ones.
        texts.clear();
        truth.clear();
        for (int i = 0; i < activating.size(); i++) {
            Excerpt x = activating.get(i);
            boolean[] right = x.active();
            if (i % 2 == 0) {
                texts.add(x.marked(right));
                truth.add(true);
            } else {
                boolean[] wrong = wrongMarks(right, rnd);
                if (wrong == null) continue;
                texts.add(x.marked(wrong));
                truth.add(false);
            }
        }
        Double fuzzing = score(prompts.fuzzing(), explanation, texts, truth, rnd);
        log.println(String.format(Locale.ROOT, "feature %d: \"%s\"  detection %s  fuzzing %s   (%d requests, %d prompt + %d completion tokens so far)",
                f, explanation, fmt(detection), fmt(fuzzing), requests.get(), promptTokens.get(), completionTokens.get()));
        return new ExplanationsFile.Row(f, explanation, METHOD, client.model(), hash(prompts.explainer().system(), user), detection, fuzzing,
                System.currentTimeMillis());
    }

    /** Shuffles the excerpts (truth with them), asks the scorer, and scores its answer; null when it cannot be read. */
    private Double score(Prompts.Template t, String explanation, List<String> texts, List<Boolean> truth, Random rnd) throws IOException, InterruptedException {
        if (!truth.contains(true) || !truth.contains(false)) return null;
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) order.add(i);
        Collections.shuffle(order, rnd);
        List<String> shuffled = order.stream().map(texts::get).toList();
        boolean[] expected = new boolean[order.size()];
        for (int i = 0; i < expected.length; i++) expected[i] = truth.get(order.get(i));
        int[] said = Scoring.parse(ask(t.system(), scoringPrompt(t, explanation, shuffled), 50 + 4 * texts.size()).text(), texts.size());
        return said == null ? null : Scoring.balancedAccuracy(expected, said);
    }

    /** As many marks as {@code right} has, on tokens where the feature is silent; null when there are too few. */
    static boolean[] wrongMarks(boolean[] right, Random rnd) {
        List<Integer> off = new ArrayList<>();
        int k = 0;
        for (int i = 0; i < right.length; i++) {
            if (right[i]) k++;
            else off.add(i);
        }
        if (off.isEmpty() || k == 0) return null;
        Collections.shuffle(off, rnd);
        boolean[] m = new boolean[right.length];
        for (int i = 0; i < Math.min(k, off.size()); i++) m[off.get(i)] = true;
        return m;
    }

    static String hash(String system, String user) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((system + "\n---\n" + user).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String fmt(Double d) { return d == null ? "n/a" : String.format(Locale.ROOT, "%.2f", d); }
}
