package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.Metric;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code loupe bench --backward}: the forward pass alone (logits of the last position) against a gradient run (the
 * same forward pass recorded, then the gradient of the last position's logit difference back to the embedding), on
 * one random prompt; the backward pass's cost is their difference. Best of the timed repetitions after a warm-up
 * (with {@code --repetitions 0}, the warm-up itself: enough for the peak memory of a long prompt).
 */
final class BackwardBench {
    private BackwardBench() {}

    static int run(ModelOptions options, int promptTokens, int repetitions, String memoryName, boolean json) throws Exception {
        GradientRequest.Memory memory = switch (memoryName.toLowerCase(Locale.ROOT)) {
            case "auto" -> GradientRequest.Memory.AUTO;
            case "keep" -> GradientRequest.Memory.KEEP;
            case "recompute" -> GradientRequest.Memory.RECOMPUTE;
            default -> throw new BadInputException("--grad-memory " + memoryName + ": expected keep, recompute or auto");
        };
        if (repetitions < 0) throw new BadInputException("--repetitions must be at least 0 with --backward (0: the warm-up run alone), got " + repetitions);
        try (Model m = options.load()) {
            if (promptTokens > m.config().maxPositions()) {
                throw new BadInputException("--prompt-tokens " + promptTokens + " exceeds the model's context of " + m.config().maxPositions());
            }
            int vocab = m.config().vocabSize();
            SplittableRandom rnd = new SplittableRandom(42);
            int[] prompt = new int[promptTokens];
            prompt[0] = m.config().bosId();
            for (int i = 1; i < promptTokens; i++) prompt[i] = 3 + rnd.nextInt(vocab - 3);
            GradientRequest request = GradientRequest.of(Metric.logitDiff()).withMemory(memory);
            // Wall time and the process's CPU time: on a shared machine the CPU seconds are the steadier measure.
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            double bestForward = Double.MAX_VALUE, bestBoth = Double.MAX_VALUE, cpuForward = Double.MAX_VALUE, cpuBoth = Double.MAX_VALUE;
            for (int rep = 0; rep <= repetitions; rep++) {
                long a = System.nanoTime(), ca = os.getProcessCpuTime();
                m.run(prompt, RunOptions.defaults().withLogits(RunOptions.Logits.LAST));
                double forward = (System.nanoTime() - a) / 1e9, forwardCpu = (os.getProcessCpuTime() - ca) / 1e9;
                long b = System.nanoTime(), cb = os.getProcessCpuTime();
                m.gradients(prompt, request);
                double both = (System.nanoTime() - b) / 1e9, bothCpu = (os.getProcessCpuTime() - cb) / 1e9;
                if (rep > 0 || repetitions == 0) {
                    bestForward = Math.min(bestForward, forward);
                    bestBoth = Math.min(bestBoth, both);
                    cpuForward = Math.min(cpuForward, forwardCpu);
                    cpuBoth = Math.min(cpuBoth, bothCpu);
                }
                if (!json) System.err.printf("%s: forward %.2f s (cpu %.2f s), forward + backward %.2f s (cpu %.2f s)%n",
                        rep == 0 ? "warm-up" : "run " + rep, forward, forwardCpu, both, bothCpu);
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("model", options.model.toString());
            r.put("threads", m.backend().threads());
            r.put("backend", m.backend().name());
            r.put("prompt_tokens", promptTokens);
            r.put("grad_memory", memory.name().toLowerCase(Locale.ROOT));
            r.put("forward_s", round(bestForward));
            r.put("forward_backward_s", round(bestBoth));
            r.put("backward_s", round(bestBoth - bestForward));
            r.put("backward_over_forward", round((bestBoth - bestForward) / bestForward));
            r.put("forward_cpu_s", round(cpuForward));
            r.put("forward_backward_cpu_s", round(cpuBoth));
            r.put("backward_over_forward_cpu", round((cpuBoth - cpuForward) / cpuForward));
            r.put("peak_rss_mb", ProcessMemory.peakRssBytes() >> 20);
            r.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
            if (json) System.out.println(new ObjectMapper().writeValueAsString(r));
            else r.forEach((k, v) -> System.out.printf("%-22s %s%n", k, v));
        }
        return 0;
    }

    private static double round(double x) { return Math.round(x * 1000) / 1000.0; }
}
