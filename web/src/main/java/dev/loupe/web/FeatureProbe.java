package dev.loupe.web;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.Hook;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;

import java.util.Arrays;

/**
 * A read-only hook that records some features' activations at every position it sees (prompt and generated
 * tokens), as the SAE reads the activation at its hook point after any steering placed before this hook.
 * Belongs to one generation; not shared between threads.
 */
final class FeatureProbe implements Hook {
    private final Sae sae;
    private final int[] features;
    private float[][] values;
    private int positions;

    FeatureProbe(Sae sae, int[] features) {
        this.sae = sae;
        this.features = features.clone();
        this.values = new float[features.length][64];
    }

    @Override public void apply(Activation a) {
        SparseFeatures f = sae.encode(a);
        int end = a.firstPosition() + a.positions();
        if (end > values[0].length) {
            for (int i = 0; i < values.length; i++) values[i] = Arrays.copyOf(values[i], Math.max(end, values[i].length * 2));
        }
        for (int p = 0; p < a.positions(); p++) {
            for (int i = 0; i < features.length; i++) values[i][a.firstPosition() + p] = f.get(p, features[i]);
        }
        positions = Math.max(positions, end);
    }

    /** Activation of the {@code i}-th probed feature at absolute position {@code pos}, or NaN when not seen yet. */
    float value(int i, int pos) { return pos < positions ? values[i][pos] : Float.NaN; }

    int[] features() { return features.clone(); }
}
