package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.Model;
import dev.loupe.model.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code loupe bench}: prompt-processing and generation speed, like llama-bench: the prompt figure computes
 * logits for the last position only; generation runs one token per step after the prompt.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prompt-processing and generation tokens/s and peak memory.")
final class BenchCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--prompt-tokens", paramLabel = "N", description = "prompt length (default: ${DEFAULT-VALUE})")
    int promptTokens = 128;

    @Option(names = "--gen-tokens", paramLabel = "N", description = "generated tokens (default: ${DEFAULT-VALUE})")
    int genTokens = 32;

    @Option(names = "--repetitions", paramLabel = "R", description = "timed repetitions after one warm-up; the best is reported (default: ${DEFAULT-VALUE})")
    int repetitions = 2;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 1) throw new IllegalArgumentException("--prompt-tokens must be at least 1 (the <bos> token), got " + promptTokens);
        if (genTokens < 1) throw new IllegalArgumentException("--gen-tokens must be at least 1, got " + genTokens);
        if (repetitions < 1) throw new IllegalArgumentException("--repetitions must be at least 1, got " + repetitions);
        long t0 = System.nanoTime();
        try (Model m = model.load()) {
            int context = m.config().maxPositions();
            if ((long) promptTokens + genTokens > context) {
                throw new IllegalArgumentException("--prompt-tokens " + promptTokens + " + --gen-tokens " + genTokens
                        + " exceed the model's context of " + context + " positions");
            }
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            long rssAfterLoad = ProcessMemory.rssBytes();
            int vocab = m.config().vocabSize();
            SplittableRandom rnd = new SplittableRandom(42);
            int[] prompt = new int[promptTokens];
            prompt[0] = m.config().bosId();
            for (int i = 1; i < promptTokens; i++) prompt[i] = 3 + rnd.nextInt(vocab - 3);
            BoundHooks none = BoundHooks.none(m.hookPoints());
            double bestPp = 0, bestTg = 0;
            for (int rep = 0; rep <= repetitions; rep++) {
                Session s = m.newSession();
                long a = System.nanoTime();
                float[] logits = s.process(prompt, none, -1, 1);
                double pp = promptTokens / ((System.nanoTime() - a) / 1e9);
                int next = argmax(logits);
                long b = System.nanoTime();
                for (int i = 0; i < genTokens; i++) next = argmax(s.process(new int[]{next}, none, -1, 1));
                double tg = genTokens / ((System.nanoTime() - b) / 1e9);
                if (rep > 0) { bestPp = Math.max(bestPp, pp); bestTg = Math.max(bestTg, tg); }
                if (!json) System.err.printf("%s: prompt %.1f tok/s, generation %.2f tok/s%n", rep == 0 ? "warm-up" : "run " + rep, pp, tg);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("model", model.model.toString());
            r.put("threads", m.backend().threads());
            r.put("backend", m.backend().name());
            r.put("prompt_tokens", promptTokens);
            r.put("prompt_tokens_per_s", round(bestPp));
            r.put("gen_tokens", genTokens);
            r.put("gen_tokens_per_s", round(bestTg));
            r.put("load_s", round(loadSeconds));
            r.put("rss_after_load_mb", rssAfterLoad >> 20);
            r.put("peak_rss_mb", ProcessMemory.peakRssBytes() >> 20);
            if (json) System.out.println(dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsString(r));
            else r.forEach((k, v) -> System.out.printf("%-20s %s%n", k, v));
        }
        return 0;
    }

    private static double round(double x) { return Math.round(x * 100) / 100.0; }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }
}
