package dev.loupe.cli;

import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.explain.ChatClient;
import dev.loupe.analysis.explain.Explainer;
import dev.loupe.analysis.explain.Prompts;
import dev.loupe.errors.BadInputException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loupe explain}: explanations of a corpus run's features from any OpenAI-compatible chat endpoint, scored. */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = "Ask an OpenAI-compatible chat endpoint (llama-server, vLLM, a hosted API, loupe serve's /v1) to explain features "
                + "from their top and quantile examples and promoted tokens, then score each explanation by detection and fuzzing "
                + "(balanced accuracy, as Delphi defines them). Results go to RUN_DIR/explanations.arrow; features already explained by "
                + "the same model are skipped, so an interrupted run resumes. The prompts are RUN_DIR/prompts/*.txt (written on first use: edit them).")
final class ExplainCommand implements Callable<Integer> {
    @Mixin RunSelection selection;

    @Option(names = "--endpoint", required = true, paramLabel = "URL", description = "the API base, e.g. http://127.0.0.1:8080/v1")
    String endpoint;

    @Option(names = "--model", required = true, paramLabel = "NAME", description = "the model field sent to the endpoint")
    String model;

    static final class Which {
        @Option(names = "--features", paramLabel = "LIST", description = "features to explain, e.g. 0-99 or 3,7,10-12")
        String features;

        @Option(names = "--all", description = "explain every feature")
        boolean all;
    }

    @ArgGroup(multiplicity = "1")
    Which which;

    @Option(names = "--api-key-env", paramLabel = "VAR", description = "the environment variable holding the API key (sent as a bearer token)")
    String apiKeyEnv;

    @Option(names = "--concurrency", paramLabel = "N", description = "features explained at once (default: ${DEFAULT-VALUE})")
    int concurrency = 4;

    @Option(names = "--context", paramLabel = "N", description = "tokens either side of an example's activating token (default: ${DEFAULT-VALUE})")
    int context = 12;

    @Override public Integer call() throws Exception {
        if (concurrency < 1 || concurrency > 256) throw new BadInputException("--concurrency must be in 1..256, got " + concurrency);
        if (context < 1 || context > 256) throw new BadInputException("--context must be in 1..256, got " + context);
        String key = null;
        if (apiKeyEnv != null) {
            key = System.getenv(apiKeyEnv);
            if (key == null || key.isBlank()) throw new BadInputException("--api-key-env " + apiKeyEnv + ": the variable is not set");
        }
        URI uri = endpoint(endpoint);
        try (FeatureStore store = selection.open()) {
            List<Integer> features = which.all ? range(0, store.featureCount() - 1) : parseFeatures(which.features, store.featureCount());
            Prompts prompts = Prompts.in(selection.folder().resolve("prompts"));
            ChatClient client = new ChatClient(uri, model, key, Duration.ofMinutes(5));
            Explainer.Summary s = new Explainer(store, client, prompts, new Explainer.Options(features, concurrency, context), System.out).run();
            System.out.println(String.format(Locale.ROOT, "explained %d features (%d already done, %d never fire) into %s; cost: %d requests, %d prompt + %d completion tokens",
                    s.explained(), s.skipped(), s.withoutExamples(), ExplanationsFile.of(store), s.requests(), s.promptTokens(), s.completionTokens()));
        }
        return 0;
    }

    /** The API base: {@code http://h:p} becomes {@code http://h:p/v1}; a full {@code .../chat/completions} URL is cut back. */
    static URI endpoint(String url) {
        URI u;
        try {
            u = URI.create(url.strip().replaceAll("/+$", "").replaceAll("/chat/completions$", ""));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--endpoint " + url + ": not a URL");
        }
        if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
            throw new BadInputException("--endpoint " + url + ": expected an http(s) URL such as http://127.0.0.1:8080/v1");
        }
        if (u.getPath() == null || u.getPath().isEmpty()) u = URI.create(u + "/v1");
        return u;
    }

    static List<Integer> parseFeatures(String spec, int count) {
        List<Integer> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            try {
                int dash = p.indexOf('-', 1);
                int a = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).strip()), b = dash < 0 ? a : Integer.parseInt(p.substring(dash + 1).strip());
                if (a < 0 || b >= count || a > b) throw new BadInputException("--features " + spec + ": " + p + " is outside 0-" + (count - 1) + " (the SAE's features)");
                out.addAll(range(a, b));
            } catch (NumberFormatException e) {
                throw new BadInputException("--features " + spec + ": expected numbers and ranges such as 0-99 or 3,7,10-12");
            }
        }
        return out.stream().distinct().toList();
    }

    private static List<Integer> range(int a, int b) {
        List<Integer> out = new ArrayList<>();
        for (int i = a; i <= b; i++) out.add(i);
        return out;
    }
}
