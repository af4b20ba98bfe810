package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.shield.ShieldGemma;
import dev.loupe.sae.FeatureAttribution;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeCompatibility;
import dev.loupe.sae.ShieldFeatures;
import picocli.CommandLine.ArgGroup;
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

/**
 * {@code loupe shield}: ShieldGemma's P(Yes) that a prompt (or a response to it) violates a policy, as the model card
 * computes it; with {@code --sae}, the SAE features that push the verdict toward Yes (attribution to
 * logit(Yes) − logit(No)).
 */
@Command(name = "shield", mixinStandardHelpOptions = true,
        description = "ShieldGemma: P(Yes) that a prompt (or a model response) violates a policy, and with --sae the features pushing toward Yes.")
final class ShieldCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the user prompt to classify")
    String prompt;

    @Option(names = "--response", paramLabel = "TEXT", description = "a model response to the prompt: classify it instead")
    String response;

    @ArgGroup(multiplicity = "1")
    Policy policy;

    static final class Policy {
        @Option(names = "--policy", required = true, paramLabel = "TEXT", description = "the safety policy, e.g. '\"No Harassment\": The prompt shall not ...'")
        String text;

        @Option(names = "--policy-file", required = true, paramLabel = "FILE", description = "a file holding the safety policy")
        Path file;
    }

    @Option(names = "--sae", paramLabel = "DIR", description = "an SAE folder: list the features that push toward Yes")
    Path sae;

    @Option(names = "--top", defaultValue = "10", paramLabel = "N", description = "features to list with --sae (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--json", description = "print one JSON object: p_yes, prompt_text, token_ids (and features with --sae)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        String policyText = policy.text;
        if (policy.file != null) {
            if (!Files.isRegularFile(policy.file)) throw new BadInputException("--policy-file " + policy.file + ": no such file");
            policyText = Files.readString(policy.file);
        }
        if (top < 1) throw new BadInputException("--top " + top + ": expected at least 1");
        ShieldGemma.Request request = new ShieldGemma.Request(prompt, response, policyText);
        try (Model m = model.load()) {
            ShieldGemma.Result r = ShieldGemma.score(m, request);
            List<FeatureAttribution.Entry> features = List.of();
            if (sae != null) {
                try (Sae s = Sae.load(sae, m.backend())) {
                    SaeCompatibility.require(s, m);
                    features = ShieldFeatures.towardYes(m, s, r, top);
                }
            }
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("p_yes", r.pYes());
                out.put("prompt_text", r.promptText());
                out.put("token_ids", r.tokenIds());
                out.put("yes_logit", r.yesLogit());
                out.put("no_logit", r.noLogit());
                if (sae != null) {
                    List<Map<String, Object>> list = new ArrayList<>();
                    for (FeatureAttribution.Entry e : features) {
                        list.add(Map.of("position", e.position(), "feature", e.feature(), "activation", e.activation(), "attribution", e.attribution()));
                    }
                    out.put("features", list);
                }
                System.out.println(new ObjectMapper().writeValueAsString(out));
                return 0;
            }
            System.out.printf("P(Yes) = %.6f  (logit Yes %.4f, No %.4f, %d tokens)%n", r.pYes(), r.yesLogit(), r.noLogit(), r.tokenIds().length);
            if (sae != null) {
                System.out.println("features pushing toward Yes (attribution to logit(Yes) - logit(No)):");
                for (FeatureAttribution.Entry e : features) {
                    System.out.printf("  feature %6d at position %4d (%s): activation %.4f, attribution %+.4f%n", e.feature(), e.position(),
                            m.tokenizer().tokenText(r.tokenIds()[e.position()]), e.activation(), e.attribution());
                }
            }
        }
        return 0;
    }
}
