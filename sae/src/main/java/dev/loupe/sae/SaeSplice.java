package dev.loupe.sae;

import dev.loupe.hooks.Glob;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.Hook;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An SAE spliced into the forward pass at its hook point: the activation is replaced by the SAE's
 * reconstruction, optionally plus the error term {@code x − recon} (SAELens's {@code use_error_term}), so that
 * without edits the model computes exactly what it would without the SAE, and with edits it sees only the
 * edits' effect. Feature edits (clamp, ablate) apply after the SAE's own hooks.
 *
 * <p>Like SAELens's HookedSAETransformer, the splice exposes its internal hook points as
 * {@code <hook>.hook_sae_input}, {@code .hook_sae_acts_pre}, {@code .hook_sae_acts_post},
 * {@code .hook_sae_recons}, {@code .hook_sae_error} and {@code .hook_sae_output}. Attach hooks there with
 * {@link #withHook} or route a whole {@link HookSet} with {@link SaeHooks#splice}. As in SAELens, the error term
 * is computed from the unhooked input and features, so hooks on the SAE's internals change the output.
 *
 * <p>Immutable; every {@code with...} returns a new splice. Fires in prompt processing and every generation step.
 */
public final class SaeSplice implements Hook {
    public static final String INPUT = "hook_sae_input";
    public static final String ACTS_PRE = "hook_sae_acts_pre";
    public static final String ACTS_POST = "hook_sae_acts_post";
    public static final String RECONS = "hook_sae_recons";
    public static final String ERROR = "hook_sae_error";
    public static final String OUTPUT = "hook_sae_output";
    /** Internal hook points in the order they fire. */
    public static final List<String> INTERNAL = List.of(INPUT, ACTS_PRE, ACTS_POST, RECONS, ERROR, OUTPUT);

    private final Sae sae;
    private final String hookName;
    private final boolean errorTerm;
    private final List<FeatureEdit> edits;
    private final Map<String, List<Hook>> internal;

    private SaeSplice(Sae sae, boolean errorTerm, List<FeatureEdit> edits, Map<String, List<Hook>> internal) {
        this.sae = sae;
        this.hookName = sae.hookName();
        this.errorTerm = errorTerm;
        this.edits = List.copyOf(edits);
        this.internal = internal;
    }

    /** Replaces the activation by the reconstruction (no error term), as SAELens does by default. */
    public static SaeSplice of(Sae sae) { return new SaeSplice(sae, false, List.of(), Map.of()); }

    public SaeSplice withErrorTerm(boolean keep) { return new SaeSplice(sae, keep, edits, internal); }

    public SaeSplice with(FeatureEdit edit) {
        if (edit.feature() < 0 || edit.feature() >= sae.dSae()) {
            throw new IllegalArgumentException(sae.config().source() + ": feature " + edit.feature() + " out of range [0, " + sae.dSae() + ")");
        }
        List<FeatureEdit> e = new ArrayList<>(edits);
        e.add(edit);
        return new SaeSplice(sae, errorTerm, e, internal);
    }

    public SaeSplice clamp(int feature, float value) { return with(FeatureEdit.clamp(feature, value)); }

    public SaeSplice ablate(int feature) { return with(FeatureEdit.ablate(feature)); }

    /**
     * Attaches {@code hook} at the internal points matching {@code pattern}: a full name
     * ({@code blocks.2.hook_resid_post.hook_sae_acts_post}), a bare suffix ({@code hook_sae_acts_post}) or a glob.
     */
    public SaeSplice withHook(String pattern, Hook hook) {
        Glob glob = Glob.of(pattern);
        Map<String, List<Hook>> m = new HashMap<>();
        internal.forEach((k, v) -> m.put(k, new ArrayList<>(v)));
        boolean any = false;
        for (String s : INTERNAL) {
            if (glob.matches(hookName + "." + s) || glob.matches(s)) {
                m.computeIfAbsent(s, k -> new ArrayList<>()).add(hook);
                any = true;
            }
        }
        if (!any) {
            throw new IllegalArgumentException("no SAE hook point matches '" + pattern + "'; this splice has "
                    + String.join(", ", internalHookNames()));
        }
        m.replaceAll((k, v) -> List.copyOf(v));
        return new SaeSplice(sae, errorTerm, edits, Map.copyOf(m));
    }

    public Sae sae() { return sae; }

    public String hookName() { return hookName; }

    public boolean errorTerm() { return errorTerm; }

    public List<FeatureEdit> edits() { return edits; }

    /** The full names of this splice's internal hook points. */
    public List<String> internalHookNames() {
        return INTERNAL.stream().map(s -> hookName + "." + s).toList();
    }

    /** This splice bound at its hook point. */
    public HookSet hookSet() { return HookSet.of(hookName, this); }

    @Override public void apply(Activation a) {
        sae.requireWidth(a);
        if (errorTerm && edits.isEmpty() && internal.isEmpty()) return;
        float[] out = compute(a);
        System.arraycopy(out, 0, a.data(), 0, out.length);
    }

    /** What the splice writes back for this activation (the activation itself is left untouched). */
    float[] compute(Activation a) {
        int rows = a.positions(), d = sae.dIn(), first = a.firstPosition();
        float[] x = a.data();
        boolean inputHooked = has(INPUT), preHooked = has(ACTS_PRE), postHooked = has(ACTS_POST);

        float[] in = x;
        if (inputHooked) {
            in = x.clone();
            fire(INPUT, new int[]{rows, d}, in, first);
        }
        SparseFeatures feats;
        if (preHooked) {
            PositionScaling[] sc = new PositionScaling[1];
            float[] pre = sae.encoderImpl().preActivations(in, 0, rows, sc);
            fire(ACTS_PRE, new int[]{rows, sae.dSae()}, pre, first);
            feats = sae.encoderImpl().activate(pre, rows, first, sc[0]);
        } else {
            feats = sae.encoderImpl().encode(in, 0, rows, first);
        }
        SparseFeatures clean = inputHooked || preHooked ? null : feats;
        if (postHooked) {
            float[] dense = feats.dense();
            fire(ACTS_POST, new int[]{rows, sae.dSae()}, dense, first);
            feats = SparseFeatures.fromDense(dense, rows, sae.dSae(), first).withScaling(feats.scaling());
        }
        SparseFeatures edited = applyEdits(feats);

        SaeDecoder dec = sae.decoderImpl();
        float[] recon = dec.decodeBeforeNormalization(edited);
        fire(RECONS, new int[]{rows, d}, recon, first);
        dec.unnormalize(recon, rows, edited.scaling());
        if (!errorTerm) {
            fire(OUTPUT, new int[]{rows, d}, recon, first);
            return recon;
        }
        if (clean == null) clean = sae.encoderImpl().encode(x, 0, rows, first);
        float[] cleanRecon = dec.decode(clean);
        float[] out = new float[recon.length];
        if (has(ERROR)) {
            float[] err = new float[recon.length];
            for (int i = 0; i < err.length; i++) err[i] = x[i] - cleanRecon[i];
            fire(ERROR, new int[]{rows, d}, err, first);
            for (int i = 0; i < out.length; i++) out[i] = recon[i] + err[i];
        } else {
            // x + (recon − cleanRecon) is bit-exact x wherever the edits change nothing.
            for (int i = 0; i < out.length; i++) out[i] = x[i] + (recon[i] - cleanRecon[i]);
        }
        fire(OUTPUT, new int[]{rows, d}, out, first);
        return out;
    }

    private SparseFeatures applyEdits(SparseFeatures f) {
        if (edits.isEmpty()) return f;
        SparseFeatures.Builder b = new SparseFeatures.Builder(f.dSae(), f.firstPosition(), f.positions());
        Map<Integer, Float> row = new LinkedHashMap<>();
        for (int p = 0; p < f.positions(); p++) {
            row.clear();
            for (int i = f.offset(p); i < f.offset(p + 1); i++) row.put(f.idAt(i), f.valueAt(i));
            for (FeatureEdit e : edits) {
                float cur = row.getOrDefault(e.feature(), 0f);
                row.put(e.feature(), e.apply(cur));
            }
            final int pos = p;
            row.forEach((id, v) -> b.add(pos, id, v));
        }
        return b.build(f.scaling());
    }

    private boolean has(String point) { return internal.containsKey(point); }

    private void fire(String point, int[] shape, float[] data, int first) {
        List<Hook> hooks = internal.get(point);
        if (hooks == null) return;
        Activation act = new Activation(hookName + "." + point, shape, data, first);
        for (Hook h : hooks) h.apply(act);
    }

    @Override public String toString() {
        return "SaeSplice[" + sae + (errorTerm ? ", error term" : "") + (edits.isEmpty() ? "" : ", edits " + edits) + "]";
    }
}
