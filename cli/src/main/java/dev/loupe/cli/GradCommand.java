package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.UnknownHookException;
import dev.loupe.model.Model;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.GradientResult;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.io.Npy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code loupe grad}: the gradient of a metric at hook points (and weights), saved as .npy. */
@Command(name = "grad", mixinStandardHelpOptions = true,
        description = "Gradient of a metric (logit-diff, logprob, loss) of one prompt at hook points and, with --params, at every weight; "
                + "writes OUT/<hook>.npy, OUT/metric.json and OUT/params/<tensor>.npy.")
final class GradCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin GradientOptions options;

    @Option(names = "--hooks", required = true, paramLabel = "GLOB", split = ",",
            description = "hook points (names or globs, comma-separated or repeated) whose gradients are written, e.g. 'blocks.*.hook_resid_post'")
    List<String> hooks = new ArrayList<>();

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created if missing)")
    Path out;

    @Option(names = "--linearized", description = "hold attention patterns and RMSNorm scales constant and drop the final softcap (attribution graphs)")
    boolean linearized;

    @Option(names = "--params", description = "also write the gradient of every weight tensor, named as in the checkpoint")
    boolean params;

    @Override
    public Integer call() throws Exception {
        OutputPaths.requireFolder(out, "--out");
        var metric = options.metric();
        try (Model m = model.load()) {
            int[] ids = options.tokens(m);
            for (String glob : hooks) {
                try {
                    m.hookPoints().matching(glob);
                } catch (UnknownHookException e) {
                    throw new BadInputException("--hooks: " + e.getMessage(), e);
                }
            }
            GradientRequest req = GradientRequest.of(metric).capturing(hooks.toArray(String[]::new)).withParameters(params)
                    .linearized(linearized ? Linearization.ATTRIBUTION : Linearization.NONE);
            GradientResult r = m.gradients(ids, req);
            Files.createDirectories(out);
            for (String name : r.gradients().names()) {
                Activation g = r.gradient(name);
                Npy.writeFloats(out.resolve(name + ".npy"), g.data(), g.shape());
            }
            if (params) {
                Path dir = Files.createDirectories(out.resolve("params"));
                for (GradientResult.ParameterGradient p : r.parameters().values()) Npy.writeFloats(dir.resolve(p.name() + ".npy"), p.data(), p.shape());
            }
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("value", r.value());
            json.putAll(r.details());
            json.put("linearized", linearized);
            json.put("tokens", ids.length);
            GradientOptions.writeJson(out.resolve("metric.json"), json);
            System.out.printf("%s = %.6f%s; %d hook gradients%s -> %s%n", r.details().get("metric"), r.value(), describe(r.details()),
                    r.gradients().names().size(), params ? " and " + r.parameters().size() + " weight gradients" : "", out);
        }
        return 0;
    }

    static String describe(Map<String, Object> d) {
        StringBuilder b = new StringBuilder();
        for (String k : List.of("position", "target", "baseline")) if (d.containsKey(k)) b.append(b.isEmpty() ? " (" : ", ").append(k).append(' ').append(d.get(k));
        return b.isEmpty() ? "" : b.append(')').toString();
    }

}
