package dev.loupe.sae;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ChildHooks;
import dev.loupe.hooks.CompositeHook;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An SAE spliced into the forward pass at its hook point: the activation is replaced by the SAE's
 * reconstruction, optionally plus the error term {@code x − recon} (SAELens's {@code use_error_term}), so that
 * without edits the model computes exactly what it would without the SAE, and with edits it sees only the
 * edits' effect. Feature edits (clamp, ablate) apply after the hooks on the SAE's own points.
 *
 * <p>Like SAELens's HookedSAETransformer, the splice has hook points of its own ({@link Point}):
 * {@code <hook>.hook_sae_input}, {@code .hook_sae_acts_pre}, {@code .hook_sae_acts_post}, {@code .hook_sae_recons},
 * {@code .hook_sae_error} and {@code .hook_sae_output}. They join the model's registry when the splice is in a
 * {@link HookSet}, so hooks attach there by name or glob like anywhere else:
 * {@code splice.hookSet().with("blocks.20.hook_resid_post.hook_sae_acts_post", hook)}, and
 * {@code splice.hookSet().points(model.hookPoints()).names()} lists them with the model's. As in SAELens, the error
 * term is computed from the unhooked input and features, so hooks on the SAE's internals change the output.
 *
 * <p>Immutable; every {@code with...} returns a new splice. Fires in prompt processing and every generation step.
 */
public final class SaeSplice implements CompositeHook {
    /** The splice's own hook points, in the order they fire. */
    public enum Point {
        INPUT("hook_sae_input"),
        ACTS_PRE("hook_sae_acts_pre"),
        ACTS_POST("hook_sae_acts_post"),
        RECONS("hook_sae_recons"),
        ERROR("hook_sae_error"),
        OUTPUT("hook_sae_output");

        private final String suffix;

        Point(String suffix) { this.suffix = suffix; }

        public String suffix() { return suffix; }

        /** The full name under the hook the SAE is spliced at, e.g. {@code blocks.20.hook_resid_post.hook_sae_acts_post}. */
        public String at(String hookName) { return hookName + "." + suffix; }
    }

    private static final List<String> SUFFIXES = Arrays.stream(Point.values()).map(Point::suffix).toList();

    private final Sae sae;
    private final String hookName;
    private final boolean errorTerm;
    private final List<FeatureEdit> edits;
    private final BitSet unedited;

    private SaeSplice(Sae sae, boolean errorTerm, List<FeatureEdit> edits, BitSet unedited) {
        this.sae = sae;
        this.hookName = sae.hookName();
        this.errorTerm = errorTerm;
        this.edits = List.copyOf(edits);
        this.unedited = unedited;
    }

    /** Replaces the activation by the reconstruction (no error term), as SAELens does by default. */
    public static SaeSplice of(Sae sae) { return new SaeSplice(sae, false, List.of(), new BitSet()); }

    public SaeSplice withErrorTerm(boolean keep) { return new SaeSplice(sae, keep, edits, unedited); }

    /**
     * The same splice making no feature edits at {@code positions} (e.g. the prompt's special tokens, as
     * Neuronpedia's {@code steer_special_tokens: false} leaves them); with the error term those positions keep
     * their own activation.
     */
    public SaeSplice skipping(BitSet positions) { return new SaeSplice(sae, errorTerm, edits, (BitSet) positions.clone()); }

    public SaeSplice with(FeatureEdit edit) {
        if (edit.feature() < 0 || edit.feature() >= sae.dSae()) {
            throw new IllegalArgumentException(sae.config().source() + ": feature " + edit.feature() + " out of range [0, " + sae.dSae() + ")");
        }
        List<FeatureEdit> e = new ArrayList<>(edits);
        e.add(edit);
        return new SaeSplice(sae, errorTerm, e, unedited);
    }

    public SaeSplice clamp(int feature, float value) { return with(FeatureEdit.clamp(feature, value)); }

    public SaeSplice ablate(int feature) { return with(FeatureEdit.ablate(feature)); }

    public Sae sae() { return sae; }

    public String hookName() { return hookName; }

    public boolean errorTerm() { return errorTerm; }

    public List<FeatureEdit> edits() { return edits; }

    @Override public List<String> childPoints() { return SUFFIXES; }

    /** This splice bound at its hook point; add hooks on its points ({@link Point#at}) to the returned set. */
    public HookSet hookSet() { return HookSet.of(hookName, this); }

    @Override public void apply(Activation a, ChildHooks children) {
        sae.requireWidth(a);
        if (errorTerm && edits.isEmpty() && !children.anyActive()) return;
        float[] out = compute(a, children);
        System.arraycopy(out, 0, a.data(), 0, out.length);
    }

    /** What the splice writes back for this activation (the activation itself is left untouched). */
    private float[] compute(Activation a, ChildHooks children) {
        int rows = a.positions(), d = sae.dIn(), first = a.firstPosition();
        float[] x = a.data();
        Fire fire = new Fire(children, rows, first);
        boolean inputHooked = children.active(Point.INPUT.ordinal()), preHooked = children.active(Point.ACTS_PRE.ordinal()),
                postHooked = children.active(Point.ACTS_POST.ordinal());

        float[] in = x;
        if (inputHooked) {
            in = x.clone();
            fire.at(Point.INPUT, d, in);
        }
        SparseFeatures feats;
        if (preHooked) {
            PositionScaling[] sc = new PositionScaling[1];
            float[] pre = sae.encoderImpl().preActivations(in, 0, rows, sc);
            fire.at(Point.ACTS_PRE, sae.dSae(), pre);
            feats = sae.encoderImpl().activate(pre, rows, first, sc[0]);
        } else {
            feats = sae.encoderImpl().encode(in, 0, rows, first);
        }
        SparseFeatures clean = inputHooked || preHooked ? null : feats;
        if (postHooked) {
            float[] dense = feats.dense();
            fire.at(Point.ACTS_POST, sae.dSae(), dense);
            feats = SparseFeatures.fromDense(dense, rows, sae.dSae(), first).withScaling(feats.scaling());
        }
        SparseFeatures edited = applyEdits(feats);

        SaeDecoder dec = sae.decoderImpl();
        float[] recon = dec.decodeBeforeNormalization(edited);
        fire.at(Point.RECONS, d, recon);
        dec.unnormalize(recon, rows, edited.scaling());
        if (!errorTerm) {
            fire.at(Point.OUTPUT, d, recon);
            return recon;
        }
        if (clean == null) clean = sae.encoderImpl().encode(x, 0, rows, first);
        float[] cleanRecon = dec.decode(clean);
        float[] out = new float[recon.length];
        if (children.active(Point.ERROR.ordinal())) {
            float[] err = new float[recon.length];
            for (int i = 0; i < err.length; i++) err[i] = x[i] - cleanRecon[i];
            fire.at(Point.ERROR, d, err);
            for (int i = 0; i < out.length; i++) out[i] = recon[i] + err[i];
        } else {
            // x + (recon − cleanRecon) is bit-exact x wherever the edits change nothing.
            for (int i = 0; i < out.length; i++) out[i] = x[i] + (recon[i] - cleanRecon[i]);
        }
        fire.at(Point.OUTPUT, d, out);
        return out;
    }

    private SparseFeatures applyEdits(SparseFeatures f) {
        if (edits.isEmpty()) return f;
        SparseFeatures.Builder b = new SparseFeatures.Builder(f.dSae(), f.firstPosition(), f.positions());
        Map<Integer, Float> row = new LinkedHashMap<>();
        for (int p = 0; p < f.positions(); p++) {
            row.clear();
            for (int i = f.offset(p); i < f.offset(p + 1); i++) row.put(f.idAt(i), f.valueAt(i));
            if (unedited.get(f.firstPosition() + p)) {
                final int pos = p;
                row.forEach((id, v) -> b.add(pos, id, v));
                continue;
            }
            for (FeatureEdit e : edits) {
                float cur = row.getOrDefault(e.feature(), 0f);
                row.put(e.feature(), e.apply(cur));
            }
            final int pos = p;
            row.forEach((id, v) -> b.add(pos, id, v));
        }
        return b.build(f.scaling());
    }

    /** Fires one of the splice's points for this call's positions; builds the activation only when hooked. */
    private record Fire(ChildHooks children, int rows, int first) {
        void at(Point p, int width, float[] data) {
            if (children.active(p.ordinal())) children.fire(p.ordinal(), new Activation(children.name(p.ordinal()), new int[]{rows, width}, data, first));
        }
    }

    @Override public String toString() {
        return "SaeSplice[" + sae + (errorTerm ? ", error term" : "") + (edits.isEmpty() ? "" : ", edits " + edits) + "]";
    }
}
