package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Intervention;
import dev.loupe.sae.Sae;
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
    /** The --mode values: each makes the library's {@link Intervention} of its kind. */
    enum Mode {
        add(" += ") { Intervention of(int f, float s) { return new Intervention.Add(f, s); } },
        orthogonal(" along x") { Intervention of(int f, float s) { return new Intervention.Orthogonal(f, s); } },
        projection_cap(" capped at ") { Intervention of(int f, float s) { return new Intervention.ProjectionCap(f, s); } },
        clamp(" = ") { Intervention of(int f, float s) { return new Intervention.Clamp(f, s); } },
        ablate(" = 0") { Intervention of(int f, float s) { return new Intervention.Ablate(f); } };

        /** How the label shows a feature's strength. */
        final String symbol;

        Mode(String symbol) { this.symbol = symbol; }

        abstract Intervention of(int feature, float strength);

        /** Clamp and ablate edit the feature inside the SAE splice; the others steer along its direction. */
        boolean editsFeature() { return this == clamp || this == ablate; }
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
            for (int f : values.keySet()) {
                if (f < 0 || f >= sae.dSae()) throw new BadInputException("--feature " + f + ": the SAE has features 0.." + (sae.dSae() - 1));
            }
            List<Intervention> interventions = new ArrayList<>();
            values.forEach((f, s) -> interventions.add(mode.of(f, s)));
            HookSet steering = Intervention.hooks(sae, interventions,
                    new Intervention.Options(multiplier, normalize, skipped, generatedOnly ? ids.length : 0));
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
        if (!Float.isFinite(multiplier)) throw new BadInputException("--strength-multiplier must be a finite number, got " + multiplier);
        if (mode.editsFeature() && generatedOnly) throw new BadInputException("--generated-only applies to --mode add, orthogonal and projection_cap");
        if (mode.editsFeature() && normalize) throw new BadInputException("--normalize applies to --mode add");
        if (mode == Mode.ablate) {
            if (!strengths.isEmpty()) throw new BadInputException("--mode ablate takes no --strength (the feature is set to 0)");
            Map<Integer, Float> out = new LinkedHashMap<>();
            for (int f : features) out.put(f, 0f);
            return out;
        }
        if (strengths.isEmpty()) throw new BadInputException("--mode " + mode + " needs --strength S (one, or one per --feature)");
        if (strengths.size() != 1 && strengths.size() != features.size()) {
            throw new BadInputException("give one --strength, or one per --feature (" + features.size() + " features, "
                    + strengths.size() + " strengths)");
        }
        if (maxAct != null && !(maxAct > 0 && Float.isFinite(maxAct))) {
            throw new BadInputException("--max-act must be a positive finite number, got " + maxAct);
        }
        for (float s : strengths) {
            if (!Float.isFinite(s)) throw new BadInputException("--strength must be a finite number, got " + s);
        }
        Map<Integer, Float> out = new LinkedHashMap<>();
        for (int i = 0; i < features.size(); i++) {
            float s = strengths.get(strengths.size() == 1 ? 0 : i);
            float a = maxAct == null ? s : s * maxAct;
            if (!Float.isFinite(a)) throw new BadInputException("--strength " + s + " times --max-act " + maxAct + " overflows float32");
            out.put(features.get(i), a);
        }
        return out;
    }
}
