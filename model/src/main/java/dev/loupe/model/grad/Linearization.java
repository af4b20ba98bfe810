package dev.loupe.model.grad;

/**
 * What a gradient run holds constant, as attribution graphs need it: with every part frozen the map from the
 * residual stream to the metric is linear apart from the MLPs (and linear outright when their outputs are frozen
 * too). Frozen values are those of the clean forward pass; the forward values themselves do not change, except
 * that an identity final softcap makes the metric read the logits before the cap.
 *
 * @param frozenPatterns     every attention pattern is a constant: only the value path (v → z → o) carries gradient
 * @param frozenNorms        every RMSNorm's {@code 1/rms} factor is a constant: each norm becomes {@code x · c · w}
 * @param identitySoftcap    the final softcap is the identity (the metric sees pre-cap logits)
 * @param frozenMlpOutputs   every {@code hook_mlp_out} is a constant (MLPs replaced by transcoders plus error nodes)
 */
public record Linearization(boolean frozenPatterns, boolean frozenNorms, boolean identitySoftcap, boolean frozenMlpOutputs) {
    /** The exact gradient. */
    public static final Linearization NONE = new Linearization(false, false, false, false);
    /** Patterns, norm factors and the final softcap frozen (circuit-tracer's attribution graphs). */
    public static final Linearization ATTRIBUTION = new Linearization(true, true, true, false);

    /** This linearization with the MLP outputs frozen as well. */
    public Linearization withFrozenMlpOutputs() { return new Linearization(frozenPatterns, frozenNorms, identitySoftcap, true); }

    public boolean isExact() { return equals(NONE); }
}
