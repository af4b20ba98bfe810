package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One change to an SAE feature during a run, and ({@link #hooks}) the one mapping from a list of them to the hooks
 * that carry them out, which the web's steering pages, Neuronpedia's steering endpoints and {@code loupe steer}
 * share. The directional ones ({@link Directional}: add, orthogonal decomposition, projection cap) edit the
 * activation at the SAE's hook point along the feature's decoder direction (Neuronpedia's methods); the feature
 * edits ({@link Edit}: clamp, clamp to a multiple of the max, ablate) splice the SAE in with its error term and set
 * the feature's activation (Anthropic's method), so that the rest of the activation is left as it was.
 */
public sealed interface Intervention {
    int feature();

    /** The number the user gave: α, cap, clamp value, multiple of the max, or 0 for an ablation. */
    double strength();

    /** An edit along {@code W_dec[f]} by one of Neuronpedia's methods, with coefficient {@code multiplier × strength}. */
    sealed interface Directional extends Intervention {
        Steering.Method method();
    }

    /** An edit of the feature's activation inside the SAE splice. */
    sealed interface Edit extends Intervention {
        /** The edit, with clamp values scaled by the run's strength multiplier. */
        FeatureEdit edit(float multiplier);

        /** The activation the edit sets (before the SAE reads the edited residual again), given the multiplier. */
        default float target(float multiplier) { return edit(multiplier).apply(0f); }
    }

    /** {@code +strength·W_dec[f]} at every position. */
    record Add(int feature, double strength) implements Directional {
        public Steering.Method method() { return Steering.Method.SIMPLE_ADDITIVE; }
    }

    /** The component along {@code W_dec[f]} scaled by the strength: {@code (I − P)h + c·Ph}. */
    record Orthogonal(int feature, double strength) implements Directional {
        public Steering.Method method() { return Steering.Method.ORTHOGONAL_DECOMP; }
    }

    /** The projection on {@code W_dec[f]/|W_dec[f]|} capped at the strength. */
    record ProjectionCap(int feature, double strength) implements Directional {
        public Steering.Method method() { return Steering.Method.PROJECTION_CAP; }
    }

    /** The feature's activation set to {@code strength} at every position. */
    record Clamp(int feature, double strength) implements Edit {
        public FeatureEdit edit(float multiplier) { return FeatureEdit.clamp(feature, (float) (multiplier * strength)); }
    }

    /** The feature's activation set to {@code strength ×} its maximum activation (over a corpus run, or Neuronpedia's). */
    record ClampToMax(int feature, double strength, float maxActivation) implements Edit {
        public FeatureEdit edit(float multiplier) { return FeatureEdit.clampToMaxMultiple(feature, (float) (multiplier * strength), maxActivation); }
    }

    /** The feature's activation set to 0. */
    record Ablate(int feature) implements Edit {
        public double strength() { return 0; }

        public FeatureEdit edit(float multiplier) { return FeatureEdit.ablate(feature); }
    }

    /** The directional intervention of {@code method} (Neuronpedia's requests name the method for every feature). */
    static Directional along(Steering.Method method, int feature, double strength) {
        return switch (method) {
            case SIMPLE_ADDITIVE -> new Add(feature, strength);
            case ORTHOGONAL_DECOMP -> new Orthogonal(feature, strength);
            case PROJECTION_CAP -> new ProjectionCap(feature, strength);
        };
    }

    /**
     * What applies to every intervention of a run.
     *
     * @param strengthMultiplier multiplies every strength (Neuronpedia's {@code strength_multiplier})
     * @param normalize          directional edits go along {@code W_dec[f]/|W_dec[f]|} (Neuronpedia's {@code normalize_steering})
     * @param skipped            positions left as they are (the prompt's special tokens, for {@code steer_special_tokens: false})
     * @param fromPosition       directional edits start at this position (0: the whole prompt; the prompt's length: only
     *                           generated tokens); feature edits have no such option, so it must be 0 with them
     */
    record Options(float strengthMultiplier, boolean normalize, BitSet skipped, int fromPosition) {
        public Options {
            if (!Float.isFinite(strengthMultiplier)) throw BadInputException.of("strengthMultiplier", "must be a finite number, got " + strengthMultiplier);
            if (fromPosition < 0) throw BadInputException.of("fromPosition", "must be >= 0, got " + fromPosition);
            skipped = (BitSet) skipped.clone();
        }

        /** Every position steered, strengths as given, directions not normalised. */
        public static Options plain() { return new Options(1f, false, new BitSet(), 0); }

        @Override public BitSet skipped() { return (BitSet) skipped.clone(); }
    }

    /**
     * The hooks that carry out {@code interventions} on {@code sae} (empty for none): the feature edits in one SAE
     * splice that keeps its error term, then the additive edits summed into one steering (as Neuronpedia's simple
     * additive steering adds them; one feature named twice adds both strengths), then each other directional edit in
     * the order given.
     */
    static HookSet hooks(Sae sae, List<? extends Intervention> interventions, Options options) {
        Steering.Options steering = new Steering.Options(Steering.Method.SIMPLE_ADDITIVE, options.strengthMultiplier(), options.normalize());
        Map<Integer, Float> adds = new LinkedHashMap<>();
        List<Steering> others = new ArrayList<>();
        SaeSplice splice = null;
        for (Intervention i : interventions) {
            if (i.feature() < 0 || i.feature() >= sae.dSae()) {
                throw BadInputException.of("feature", i.feature() + " is out of range: the SAE has features 0.." + (sae.dSae() - 1));
            }
            switch (i) {
                case Add a -> adds.merge(a.feature(), (float) a.strength(), Float::sum);
                case Directional d -> others.add(Steering.features(sae, Map.of(d.feature(), (float) d.strength()), steering.withMethod(d.method())));
                case Edit e -> {
                    if (options.fromPosition() > 0) {
                        throw BadInputException.of("fromPosition", "applies to add, orthogonal and projection-cap interventions, not to feature edits");
                    }
                    splice = (splice != null ? splice : SaeSplice.of(sae).withErrorTerm(true)).with(e.edit(options.strengthMultiplier()));
                }
            }
        }
        BitSet skipped = options.skipped();
        HookSet hooks = splice == null ? HookSet.empty() : splice.skipping(skipped).hookSet();
        if (!adds.isEmpty()) others.addFirst(Steering.features(sae, adds, steering));
        for (Steering s : others) {
            Steering placed = s.skipping(skipped);
            hooks = hooks.with((options.fromPosition() > 0 ? placed.fromPosition(options.fromPosition()) : placed).hookSet());
        }
        return hooks;
    }
}
