package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
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

    @Option(names = "--backward", description = "time forward + backward (the gradient of the last position's logit difference) against the forward pass alone")
    boolean backward;

    @Option(names = "--grad-memory", defaultValue = "auto", paramLabel = "MODE",
            description = "with --backward: keep (every layer's activations), recompute (each layer in the backward pass) or auto (default: ${DEFAULT-VALUE})")
    String gradMemory;

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 1) throw new BadInputException("--prompt-tokens must be at least 1 (the <bos> token), got " + promptTokens);
        if (genTokens < 1) throw new BadInputException("--gen-tokens must be at least 1, got " + genTokens);
        if (backward) return BackwardBench.run(model, promptTokens, repetitions, gradMemory, json);
        if (repetitions < 1) throw new BadInputException("--repetitions must be at least 1, got " + repetitions);
        long t0 = System.nanoTime();
        try (Model m = model.load()) {
            int context = m.config().maxPositions();
            if ((long) promptTokens + genTokens > context) {
                throw new BadInputException("--prompt-tokens " + promptTokens + " + --gen-tokens " + genTokens
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
            Map<String, Long> genCounters = new LinkedHashMap<>();
            int timedTokens = 0;
            for (int rep = 0; rep <= repetitions; rep++) {
                double pp, tg;
                try (Session s = m.newSession()) {
                    long a = System.nanoTime();
                    float[] logits = s.process(prompt, none, -1, 1);
                    pp = promptTokens / ((System.nanoTime() - a) / 1e9);
                    int next = argmax(logits);
                    Map<String, Long> before = m.backend().deviceCounters();
                    long b = System.nanoTime();
                    for (int i = 0; i < genTokens; i++) next = argmax(s.process(new int[]{next}, none, -1, 1));
                    tg = genTokens / ((System.nanoTime() - b) / 1e9);
                    if (rep > 0) {
                        for (Map.Entry<String, Long> e : m.backend().deviceCounters().entrySet()) {
                            genCounters.merge(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L), Long::sum);
                        }
                        timedTokens += genTokens;
                    }
                }
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
            deviceFigures(m.backend().deviceCounters(), genCounters, timedTokens, r);
            if (json) System.out.println(dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsString(r));
            else r.forEach((k, v) -> System.out.printf("%-20s %s%n", k, v));
        }
        return 0;
    }

    /**
     * A device backend's figures: task-graph executions and device kernel time per generated token (over the timed
     * repetitions' generation steps), per operation, and device memory (held now; the activation arena's peak).
     */
    private static void deviceFigures(Map<String, Long> now, Map<String, Long> gen, int tokens, Map<String, Object> r) {
        if (now.isEmpty() || tokens == 0) return;
        r.put("graph_executions_per_token", round(gen.getOrDefault("graph_executions", 0L) / (double) tokens));
        if (gen.containsKey("device_kernel_ns")) {
            r.put("device_ms_per_token", Math.round(gen.get("device_kernel_ns") / 1e6 / tokens * 1e4) / 1e4);
            Map<String, Double> ops = new LinkedHashMap<>();
            for (Map.Entry<String, Long> e : gen.entrySet()) {
                if (e.getKey().startsWith("device_kernel_ns.")) {
                    ops.put(e.getKey().substring("device_kernel_ns.".length()), Math.round(e.getValue() / 1e6 / tokens * 1e4) / 1e4);
                }
            }
            r.put("device_ms_per_token_by_op", ops);
        }
        if (now.containsKey("device_memory_bytes")) r.put("device_memory_mb", now.get("device_memory_bytes") >> 20);
        if (now.containsKey("device_arena_peak_bytes")) r.put("device_arena_peak_mb", round(now.get("device_arena_peak_bytes") / 1048576.0));
    }

    private static double round(double x) { return Math.round(x * 100) / 100.0; }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }
}
