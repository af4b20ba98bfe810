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
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code loupe steer}: the same prompt continued with and without steering on SAE features. */
@Command(name = "steer", mixinStandardHelpOptions = true,
        description = "Generate with and without steering on SAE features (same seed) and show both continuations side by side. "
                + "add: h + m*s*W_dec[f] at every position (Neuronpedia's SIMPLE_ADDITIVE); "
                + "orthogonal: (I - P)h + m*s*Ph along W_dec[f] (ORTHOGONAL_DECOMP); "
                + "projection_cap: the projection of h on W_dec[f]/|W_dec[f]| capped at m*s (PROJECTION_CAP); "
                + "clamp: splice the SAE in with its error term and set the feature's activation to m*s (Anthropic's method); "
                + "ablate: the same with the activation set to 0. m is --strength-multiplier, s the feature's --strength.")
final class SteerCommand implements Callable<Integer> {
    enum Mode {
        add(Steering.Method.SIMPLE_ADDITIVE, " += "), orthogonal(Steering.Method.ORTHOGONAL_DECOMP, " along x"),
        projection_cap(Steering.Method.PROJECTION_CAP, " capped at "), clamp(null, " = "), ablate(null, " = 0");

        /** The direction-based method, or null for the SAE splice's edits. */
        final Steering.Method method;
        /** How the label shows a feature's strength. */
        final String symbol;

        Mode(Steering.Method method, String symbol) {
            this.method = method;
            this.symbol = symbol;
        }
    }

    @Mixin ModelOptions model;
    @Mixin SaeOptions saeOptions;
    @Mixin SamplingOptions sampling;

    @Option(names = "--feature", required = true, paramLabel = "F", description = "feature id (repeatable: several features at once)")
    List<Integer> features = new ArrayList<>();

    @Option(names = "--strength", paramLabel = "S",
            description = "steering coefficient, projection cap or clamp value (repeatable, one per --feature; one value applies to all; not for ablate)")
    List<Float> strengths = new ArrayList<>();

    @Option(names = "--mode", paramLabel = "MODE", description = "add, orthogonal, projection_cap, clamp or ablate (default: ${DEFAULT-VALUE})")
    Mode mode = Mode.add;

    @Option(names = "--strength-multiplier", paramLabel = "M", description = "multiplies every strength, as Neuronpedia's strength_multiplier (default: ${DEFAULT-VALUE})")
    float multiplier = 1f;

    @Option(names = "--normalize", description = "add mode: steer along W_dec[f]/|W_dec[f]| (Neuronpedia's normalize_steering)")
    boolean normalize;

    @Option(names = "--steer-special-tokens", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "also steer at the prompt's special tokens (<bos>, <start_of_turn>, ...); --no-steer-special-tokens leaves them as they are (default: ${DEFAULT-VALUE})")
    boolean steerSpecialTokens = true;

    @Option(names = "--max-act", paramLabel = "A",
            description = "the feature's maximum activation (e.g. from Neuronpedia): strengths become multiples of it")
    Float maxAct;

    @Option(names = "--generated-only", description = "steer only generated tokens, not the prompt (not for clamp and ablate)")
    boolean generatedOnly;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt")
    String prompt;

    @Option(names = "--chat", description = "wrap the prompt in Gemma's chat turn format (for -it models)")
    boolean chat;

    @Option(names = "--width", paramLabel = "N", description = "output width in characters (default: ${DEFAULT-VALUE})")
    int width = 100;

    @Override public Integer call() throws Exception {
        Map<Integer, Float> values = strengths();
        try (Model m = model.load(); Sae sae = saeOptions.load(m)) {
            Tokenizer tok = m.tokenizer();
            int[] ids = chat ? ChatTemplate.encode(tok, List.of(ChatTemplate.Turn.user(prompt)), true) : tok.encode(prompt);
            sampling.requireWithinContext(m.config().maxPositions(), ids.length);
            BitSet skipped = steerSpecialTokens ? new BitSet() : Steering.positionsOf(ids, tok::isSpecial);
            HookSet steering;
            if (mode.method != null) {
                for (int f : values.keySet()) {
                    if (f < 0 || f >= sae.dSae()) throw new IllegalArgumentException("--feature " + f + ": the SAE has features 0.." + (sae.dSae() - 1));
                }
                Steering s = Steering.features(sae, values, new Steering.Options(mode.method, multiplier, normalize)).skipping(skipped);
                steering = (generatedOnly ? s.fromPosition(ids.length) : s).hookSet();
            } else {
                if (generatedOnly) throw new IllegalArgumentException("--generated-only applies to --mode add, orthogonal and projection_cap");
                if (normalize) throw new IllegalArgumentException("--normalize applies to --mode add");
                SaeSplice splice = SaeSplice.of(sae).withErrorTerm(true).skipping(skipped);
                for (Map.Entry<Integer, Float> e : values.entrySet()) {
                    float v = multiplier * e.getValue();
                    splice = splice.with(mode == Mode.ablate ? FeatureEdit.ablate(e.getKey()) : FeatureEdit.clamp(e.getKey(), v));
                }
                steering = splice.hookSet();
            }
            String plain = continuation(m, tok, ids, HookSet.empty());
            String steered = continuation(m, tok, ids, steering);
            StringBuilder desc = new StringBuilder();
            values.forEach((f, a) -> {
                desc.append(desc.isEmpty() ? "" : ", ").append(f).append(mode.symbol);
                if (mode != Mode.ablate) desc.append(String.format(Locale.ROOT, "%.2f", multiplier * a));
            });
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
        if (!Float.isFinite(multiplier)) throw new IllegalArgumentException("--strength-multiplier must be a finite number, got " + multiplier);
        if (mode == Mode.ablate) {
            if (!strengths.isEmpty()) throw new IllegalArgumentException("--mode ablate takes no --strength (the feature is set to 0)");
            Map<Integer, Float> out = new LinkedHashMap<>();
            for (int f : features) out.put(f, 0f);
            return out;
        }
        if (strengths.isEmpty()) throw new IllegalArgumentException("--mode " + mode + " needs --strength S (one, or one per --feature)");
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
