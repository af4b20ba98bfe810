package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ChildHooks;
import dev.loupe.hooks.DifferentiableHook;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Steering along SAE feature directions (or any vectors) at one hook point, with Neuronpedia's methods
 * ({@link Method}): each {@link SteeringOp} edits the activation at every position from {@link #fromPosition()}
 * on, except {@link #skipping skipped} ones, in prompt processing and in every generation step, in the order
 * given. The edits are computed once, when the steering is made.
 *
 * <pre>{@code
 * Steering.add(sae, 1234, 80f)                                              // h += 80·W_dec[1234]
 * Steering.features(sae, Map.of(1234, 0.5f), new Steering.Options(Steering.Method.ORTHOGONAL_DECOMP, 1f, false))
 * }</pre>
 */
public final class Steering implements DifferentiableHook {
    /** Neuronpedia's steering methods, by their API names. */
    public enum Method {
        /** {@code h + c·v}. */
        SIMPLE_ADDITIVE {
            public SteeringOp op(float[] vector, float coefficient) { return new SteeringOp.Add(vector, coefficient); }
        },
        /** {@code (I − P)h + c·Ph} along the vector's direction. */
        ORTHOGONAL_DECOMP {
            public SteeringOp op(float[] vector, float coefficient) { return new SteeringOp.OrthogonalDecomp(vector, coefficient); }
        },
        /** The projection on the vector's direction capped at {@code c}. */
        PROJECTION_CAP {
            public SteeringOp op(float[] vector, float coefficient) { return new SteeringOp.ProjectionCap(vector, coefficient); }
        };

        /** The edit this method makes with {@code vector} and coefficient {@code c}. */
        public abstract SteeringOp op(float[] vector, float coefficient);
    }

    /**
     * How strengths become edits, as Neuronpedia's steering request sets it: each op's coefficient is
     * {@code strengthMultiplier × strength}, and {@code normalize} makes every vector unit-length first (only
     * additive steering changes with it: the other methods use the direction alone).
     */
    public record Options(Method method, float strengthMultiplier, boolean normalize) {
        public Options {
            if (method == null) throw new IllegalArgumentException("steering method is required");
            if (!Float.isFinite(strengthMultiplier)) throw new BadInputException("strength multiplier must be finite, got " + strengthMultiplier);
        }

        /** Simple additive, multiplier 1, not normalized: {@link #add}. */
        public static Options additive() { return new Options(Method.SIMPLE_ADDITIVE, 1f, false); }

        public Options withMethod(Method m) { return new Options(m, strengthMultiplier, normalize); }

        SteeringOp op(float[] vector, float strength) {
            float[] v = vector;
            if (normalize) v = SteeringOp.unit(vector, method.name() + " with normalize");
            float c = strengthMultiplier * strength;
            if (!Float.isFinite(c)) throw new BadInputException("strength " + strength + " × multiplier " + strengthMultiplier + " overflows float32");
            return method.op(v, c);
        }
    }

    private final String hookName;
    private final int width;
    private final List<SteeringOp> ops;
    private final Map<Integer, Float> strengths;
    private final int fromPosition;
    private final BitSet skipped;

    private Steering(String hookName, int width, List<SteeringOp> ops, Map<Integer, Float> strengths, int fromPosition, BitSet skipped) {
        this.hookName = hookName;
        this.width = width;
        this.ops = List.copyOf(ops);
        this.strengths = strengths;
        this.fromPosition = fromPosition;
        this.skipped = skipped;
    }

    /** Adds {@code alpha·W_dec[feature]} at the SAE's hook point. */
    public static Steering add(Sae sae, int feature, float alpha) { return add(sae, Map.of(feature, alpha)); }

    /** Adds {@code Σ alpha_f·W_dec[f]} over several features at once. */
    public static Steering add(Sae sae, Map<Integer, Float> alphas) {
        if (alphas.isEmpty()) throw new BadInputException("steering needs at least one feature");
        float[] v = new float[sae.dIn()];
        for (Map.Entry<Integer, Float> e : alphas.entrySet()) {
            float[] dir = sae.direction(e.getKey());
            float a = e.getValue();
            for (int i = 0; i < v.length; i++) v[i] += a * dir[i];
        }
        return new Steering(sae.hookName(), v.length, List.of(new SteeringOp.Add(v, 1f)), Map.copyOf(new LinkedHashMap<>(alphas)), 0, new BitSet());
    }

    /**
     * Steers along each feature's decoder direction ({@link Sae#direction}) with its strength, by
     * {@code options}' method, one feature after another in the map's order.
     */
    public static Steering features(Sae sae, Map<Integer, Float> strengths, Options options) {
        if (strengths.isEmpty()) throw new BadInputException("steering needs at least one feature");
        List<SteeringOp> ops = new ArrayList<>();
        for (Map.Entry<Integer, Float> e : strengths.entrySet()) ops.add(options.op(sae.direction(e.getKey()), e.getValue()));
        return new Steering(sae.hookName(), sae.dIn(), ops, Map.copyOf(new LinkedHashMap<>(strengths)), 0, new BitSet());
    }

    /** Steers with raw vectors (each the hook's width) and their strengths at {@code hookName}. */
    public static Steering vectors(String hookName, List<float[]> vectors, List<Float> strengths, Options options) {
        if (vectors.isEmpty()) throw new BadInputException("steering needs at least one vector");
        if (vectors.size() != strengths.size()) throw new BadInputException(vectors.size() + " vectors but " + strengths.size() + " strengths");
        int width = vectors.getFirst().length;
        List<SteeringOp> ops = new ArrayList<>();
        for (int i = 0; i < vectors.size(); i++) {
            if (vectors.get(i).length != width) throw new BadInputException("vector " + i + " has length " + vectors.get(i).length + ", vector 0 has " + width);
            ops.add(options.op(vectors.get(i), strengths.get(i)));
        }
        return new Steering(hookName, width, ops, Map.of(), 0, new BitSet());
    }

    /** Adds {@code scale·vector} (length = the hook's width) at {@code hookName}, e.g. {@code sae.direction(f)} at another hook. */
    public static Steering addVector(String hookName, float[] vector, float scale) {
        return vectors(hookName, List.of(vector), List.of(scale), Options.additive());
    }

    /** The same steering applied only to positions {@code >= position} (e.g. only generated tokens). */
    public Steering fromPosition(int position) { return new Steering(hookName, width, ops, strengths, position, skipped); }

    /**
     * The same steering leaving {@code positions} as they are, e.g. the prompt's special tokens (Neuronpedia's
     * {@code steer_special_tokens: false}).
     */
    public Steering skipping(BitSet positions) { return new Steering(hookName, width, ops, strengths, fromPosition, (BitSet) positions.clone()); }

    public String hookName() { return hookName; }

    public int fromPosition() { return fromPosition; }

    /** The edits, in the order they apply. */
    public List<SteeringOp> ops() { return ops; }

    /** The vector the additive edits add at each steered position (zero when there are none). */
    public float[] vector() {
        float[] v = new float[width];
        for (SteeringOp op : ops) {
            if (op instanceof SteeringOp.Add a) for (int i = 0; i < width; i++) v[i] += a.coefficient() * a.vector()[i];
        }
        return v;
    }

    /** Feature → strength, empty for {@link #vectors}. */
    public Map<Integer, Float> strengths() { return strengths; }

    public HookSet hookSet() { return HookSet.of(hookName, this); }

    @Override public void apply(Activation a) {
        if (a.shape().length != 2 || a.width() != width) {
            throw new BadInputException("steering vector of length " + width + " cannot be applied at "
                    + a.name() + " " + Arrays.toString(a.shape()));
        }
        float[] data = a.data();
        for (int r = Math.max(0, fromPosition - a.firstPosition()); r < a.positions(); r++) {
            if (skipped.get(a.firstPosition() + r)) continue;
            for (SteeringOp op : ops) op.apply(data, r * width);
        }
    }

    /**
     * The gradient back through the edits, last edit first: an additive edit passes it unchanged; the orthogonal
     * decomposition's Jacobian {@code I + (c − 1)ûûᵀ} scales its component along {@code û}; a cap that acted removes
     * that component ({@code I − ûûᵀ}), one that did not passes it unchanged.
     */
    @Override public void backward(Activation input, Activation gradient, ChildHooks gradientHooks) {
        if (ops.stream().allMatch(o -> o instanceof SteeringOp.Add)) return;
        float[] g = gradient.data(), x = input.data();
        for (int r = Math.max(0, fromPosition - input.firstPosition()); r < input.positions(); r++) {
            if (skipped.get(input.firstPosition() + r)) continue;
            // the activation as each edit saw it
            float[][] seen = new float[ops.size()][];
            float[] h = Arrays.copyOfRange(x, r * width, (r + 1) * width);
            for (int k = 0; k < ops.size(); k++) {
                seen[k] = h.clone();
                ops.get(k).apply(h, 0);
            }
            for (int k = ops.size() - 1; k >= 0; k--) ops.get(k).backward(seen[k], g, r * width);
        }
    }

    /** The positions of {@code ids} holding special tokens ({@code <bos>}, {@code <start_of_turn>}, ...). */
    public static BitSet positionsOf(int[] ids, java.util.function.IntPredicate special) {
        BitSet out = new BitSet();
        for (int i = 0; i < ids.length; i++) if (special.test(ids[i])) out.set(i);
        return out;
    }

    @Override public String toString() {
        return "Steering[" + hookName + (strengths.isEmpty() ? "" : " " + strengths) + " " + ops.stream().map(o -> o.getClass().getSimpleName()).toList()
                + (fromPosition > 0 ? " from " + fromPosition : "") + (skipped.isEmpty() ? "" : " skipping " + skipped) + "]";
    }
}
