package dev.loupe.cli;

import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.FeatureEdit;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeSplice;
import dev.loupe.sae.Steering;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code loupe steer}: the same prompt continued with and without steering on SAE features. */
@Command(name = "steer", mixinStandardHelpOptions = true,
        description = "Generate with and without steering on SAE features and show both continuations side by side. "
                + "add: add strength * W_dec[feature] to the activation at every position (Neuronpedia's additive steering); "
                + "clamp: splice the SAE in with its error term and set the feature's activation to strength (Anthropic's method).")
final class SteerCommand implements Callable<Integer> {
    enum Mode { add, clamp }

    @Mixin ModelOptions model;
    @Mixin SaeOptions saeOptions;
    @Mixin SamplingOptions sampling;

    @Option(names = "--feature", required = true, paramLabel = "F", description = "feature id (repeatable: several features at once)")
    List<Integer> features = new ArrayList<>();

    @Option(names = "--strength", required = true, paramLabel = "S",
            description = "steering coefficient, or clamp value (repeatable, one per --feature; one value applies to all)")
    List<Float> strengths = new ArrayList<>();

    @Option(names = "--mode", paramLabel = "MODE", description = "add or clamp (default: ${DEFAULT-VALUE})")
    Mode mode = Mode.add;

    @Option(names = "--max-act", paramLabel = "A",
            description = "the feature's maximum activation (e.g. from Neuronpedia): strengths become multiples of it")
    Float maxAct;

    @Option(names = "--generated-only", description = "add mode: steer only generated tokens, not the prompt")
    boolean generatedOnly;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt")
    String prompt;

    @Option(names = "--chat", description = "wrap the prompt in Gemma's chat turn format (for -it models)")
    boolean chat;

    @Option(names = "--width", paramLabel = "N", description = "output width in characters (default: ${DEFAULT-VALUE})")
    int width = 100;

    @Override public Integer call() throws Exception {
        Map<Integer, Float> alphas = strengths();
        try (Model m = model.load(); Sae sae = saeOptions.load(m)) {
            Tokenizer tok = m.tokenizer();
            int[] ids = chat ? ChatTemplate.encode(tok, List.of(ChatTemplate.Turn.user(prompt)), true) : tok.encode(prompt);
            sampling.requireWithinContext(m.config().maxPositions(), ids.length);
            HookSet steering;
            if (mode == Mode.add) {
                Steering s = Steering.add(sae, alphas);
                steering = (generatedOnly ? s.fromPosition(ids.length) : s).hookSet();
            } else {
                if (generatedOnly) throw new IllegalArgumentException("--generated-only applies to --mode add");
                SaeSplice splice = SaeSplice.of(sae).withErrorTerm(true);
                for (Map.Entry<Integer, Float> e : alphas.entrySet()) splice = splice.with(FeatureEdit.clamp(e.getKey(), e.getValue()));
                steering = splice.hookSet();
            }
            String plain = continuation(m, tok, ids, HookSet.empty());
            String steered = continuation(m, tok, ids, steering);
            StringBuilder desc = new StringBuilder();
            alphas.forEach((f, a) -> desc.append(desc.isEmpty() ? "" : ", ").append(f).append(mode == Mode.add ? " += " : " = ")
                    .append(String.format(Locale.ROOT, "%.2f", a)));
            System.out.println("prompt: " + prompt);
            System.out.print(SideBySide.render("unsteered", plain, "steered (" + mode + " " + desc + " at " + sae.hookName() + ")", steered, width));
        }
        return 0;
    }

    private String continuation(Model m, Tokenizer tok, int[] ids, HookSet hooks) {
        GenerationResult r = m.generate(ids, sampling.generation(), hooks, null);
        return tok.decode(r.generated(), true);
    }

    /** Feature → strength (absolute), pairing the repeated options. */
    Map<Integer, Float> strengths() {
        if (strengths.size() != 1 && strengths.size() != features.size()) {
            throw new IllegalArgumentException("give one --strength, or one per --feature (" + features.size() + " features, "
                    + strengths.size() + " strengths)");
        }
        if (maxAct != null && !(maxAct > 0 && Float.isFinite(maxAct))) {
            throw new IllegalArgumentException("--max-act must be a positive finite number, got " + maxAct);
        }
        for (float s : strengths) {
            if (!Float.isFinite(s)) throw new IllegalArgumentException("--strength must be a finite number, got " + s);
        }
        Map<Integer, Float> out = new LinkedHashMap<>();
        for (int i = 0; i < features.size(); i++) {
            float s = strengths.get(strengths.size() == 1 ? 0 : i);
            float a = maxAct == null ? s : s * maxAct;
            if (!Float.isFinite(a)) throw new IllegalArgumentException("--strength " + s + " times --max-act " + maxAct + " overflows float32");
            out.put(features.get(i), a);
        }
        return out;
    }
}
