package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.io.Npy;
import dev.loupe.sae.FeatureAttribution;
import dev.loupe.sae.Sae;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code loupe attribute}: SAE feature attribution (activation × gradient) with the error node, per position. */
@Command(name = "attribute", mixinStandardHelpOptions = true,
        description = "Attribute a metric to the features of an SAE spliced in at its hook (activation × gradient, error term kept); "
                + "writes OUT/features.npy [pos, d_sae], OUT/error_attribution.npy [pos], OUT/metric.json and prints the top features.")
final class AttributeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin SaeOptions saeOptions;
    @Mixin GradientOptions options;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created if missing)")
    Path out;

    @Option(names = "--top", paramLabel = "K", description = "features printed (default: ${DEFAULT-VALUE})")
    int top = 10;

    @Option(names = "--linearized", description = "hold attention patterns and RMSNorm scales constant and drop the final softcap")
    boolean linearized;

    @Override
    public Integer call() throws Exception {
        if (top < 0) throw new BadInputException("--top must be >= 0");
        OutputPaths.requireFolder(out, "--out");
        var metric = options.metric();
        try (Model m = model.load(); Sae sae = saeOptions.load(m)) {
            int[] ids = options.tokens(m);
            FeatureAttribution a = FeatureAttribution.compute(m, sae, ids, metric,
                    linearized ? Linearization.ATTRIBUTION : Linearization.NONE);
            Files.createDirectories(out);
            Npy.writeFloats(out.resolve("features.npy"), a.attribution(), a.positions(), a.dSae());
            Npy.writeFloats(out.resolve("error_attribution.npy"), a.errorAttribution(), a.positions());
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("value", a.metric());
            json.putAll(a.details());
            json.put("hook", a.hook());
            json.put("linearized", linearized);
            json.put("tokens", ids.length);
            GradientOptions.writeJson(out.resolve("metric.json"), json);
            System.out.printf("%s = %.6f%s; SAE at %s%n", a.details().get("metric"), a.metric(), GradCommand.describe(a.details()), a.hook());
            System.out.printf("%8s %8s %12s %12s  %s%n", "position", "feature", "activation", "attribution", "token");
            for (FeatureAttribution.Entry e : a.top(top)) {
                String text = m.hasTokenizer() ? m.tokenizer().tokenText(ids[e.position()]) : String.valueOf(ids[e.position()]);
                System.out.printf("%8d %8d %12.4f %12.4f  %s%n", e.position(), e.feature(), e.activation(), e.attribution(), text);
            }
            double err = 0;
            for (float v : a.errorAttribution()) err += v;
            System.out.printf("error nodes: %.4f in all -> %s%n", err, out);
        }
        return 0;
    }
}
