package dev.loupe.sae;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ChildHooks;
import dev.loupe.hooks.DifferentiableHook;
import dev.loupe.hooks.HookSet;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Additive steering (Neuronpedia's "simple additive" method): adds {@code Σ α_i·W_dec[f_i]} to the activation at
 * the SAE's hook point, at every position from {@link #fromPosition()} on, in prompt processing and in every
 * generation step. The vector is computed once, when the steering is made.
 */
public final class Steering implements DifferentiableHook {
    private final String hookName;
    private final float[] vector;
    private final Map<Integer, Float> strengths;
    private final int fromPosition;

    private Steering(String hookName, float[] vector, Map<Integer, Float> strengths, int fromPosition) {
        this.hookName = hookName;
        this.vector = vector;
        this.strengths = strengths;
        this.fromPosition = fromPosition;
    }

    /** Adds {@code alpha·W_dec[feature]} at the SAE's hook point. */
    public static Steering add(Sae sae, int feature, float alpha) { return add(sae, Map.of(feature, alpha)); }

    /** Adds {@code Σ alpha_f·W_dec[f]} over several features at once. */
    public static Steering add(Sae sae, Map<Integer, Float> alphas) {
        if (alphas.isEmpty()) throw new IllegalArgumentException("steering needs at least one feature");
        float[] v = new float[sae.dIn()];
        for (Map.Entry<Integer, Float> e : alphas.entrySet()) {
            float[] dir = sae.direction(e.getKey());
            float a = e.getValue();
            for (int i = 0; i < v.length; i++) v[i] += a * dir[i];
        }
        return new Steering(sae.hookName(), v, Map.copyOf(new LinkedHashMap<>(alphas)), 0);
    }

    /** Adds {@code scale·vector} (length = the hook's width) at {@code hookName}, e.g. {@code sae.direction(f)} at another hook. */
    public static Steering addVector(String hookName, float[] vector, float scale) {
        float[] v = new float[vector.length];
        for (int i = 0; i < v.length; i++) v[i] = scale * vector[i];
        return new Steering(hookName, v, Map.of(), 0);
    }

    /** The same steering applied only to positions {@code >= position} (e.g. only generated tokens). */
    public Steering fromPosition(int position) { return new Steering(hookName, vector, strengths, position); }

    public String hookName() { return hookName; }

    public int fromPosition() { return fromPosition; }

    /** The vector added at each steered position. */
    public float[] vector() { return vector.clone(); }

    /** Feature → α, empty for {@link #addVector}. */
    public Map<Integer, Float> strengths() { return strengths; }

    public HookSet hookSet() { return HookSet.of(hookName, this); }

    @Override public void apply(Activation a) {
        if (a.shape().length != 2 || a.width() != vector.length) {
            throw new IllegalArgumentException("steering vector of length " + vector.length + " cannot be added at "
                    + a.name() + " " + Arrays.toString(a.shape()));
        }
        int w = vector.length;
        float[] data = a.data();
        for (int r = Math.max(0, fromPosition - a.firstPosition()); r < a.positions(); r++) {
            int off = r * w;
            for (int i = 0; i < w; i++) data[off + i] += vector[i];
        }
    }

    /** The added vector does not depend on the activation: the gradient passes through unchanged. */
    @Override public void backward(Activation input, Activation gradient, ChildHooks gradientHooks) {}

    @Override public String toString() {
        return "Steering[" + hookName + (strengths.isEmpty() ? "" : " " + strengths) + (fromPosition > 0 ? " from " + fromPosition : "") + "]";
    }
}
