package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ChildHooks;
import dev.loupe.hooks.CompositeHook;
import dev.loupe.hooks.DifferentiableHook;
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
 * <p>In a gradient run the splice is differentiated through as SAELens's autograd would: the error term is a
 * constant (computed without gradient), so the gradient reaches the input through the encoder alone, and the
 * gradient hooks at its points see d metric / d (its features, error term, ...): {@link #backward}.
 *
 * <p>Immutable; every {@code with...} returns a new splice. Fires in prompt processing and every generation step.
 */
public final class SaeSplice implements CompositeHook, DifferentiableHook {
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
        if (sae.config().transcoder()) {
            throw new BadInputException(sae.config().source() + ": a transcoder reads " + sae.hookName() + " and predicts "
                    + sae.config().outputHookName() + "; splicing it in place is not supported (encode it, or decode its prediction)");
        }
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
            throw new BadInputException(sae.config().source() + ": feature " + edit.feature() + " out of range [0, " + sae.dSae() + ")");
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

    /**
     * The gradient through the splice: {@code out = decode(edit(f(x))) (+ err)} with the error term held constant.
     * Gradient hooks at the splice's points see, last point first: the output's and the error term's gradient (both
     * {@code g}), the reconstruction's, the features' ({@code [pos, d_sae]}, dense: defined for inactive features too,
     * {@code g · W_dec^T}), the pre-activations' (0 where a feature is off) and the input's, which replaces {@code g}.
     * Forward hooks at the splice's own points are not differentiated through (taken as the identity).
     */
    @Override public void backward(Activation input, Activation gradient, ChildHooks gradientHooks) {
        SaeConfig cfg = sae.config();
        if (cfg.normalization() == Normalization.CONSTANT_NORM_RESCALE || cfg.normalization() == Normalization.LAYER_NORM) {
            throw new BadInputException(cfg.source() + ": gradients through an SAE with normalize_activations = "
                    + cfg.normalization().saeLensName() + " are not supported (none or expected_average_only_in are)");
        }
        int rows = input.positions(), d = sae.dIn(), dSae = sae.dSae(), first = input.firstPosition();
        float[] g = gradient.data();
        Fire fire = new Fire(gradientHooks, rows, first);
        fire.at(Point.OUTPUT, d, g);
        if (errorTerm) fire.at(Point.ERROR, d, g.clone());
        float outScale = cfg.normalization() == Normalization.EXPECTED_AVERAGE_ONLY_IN ? 1f / cfg.normScalingFactor() : 1f;
        float[] gRecons = g.clone();
        for (int i = 0; i < gRecons.length; i++) gRecons[i] *= outScale;
        fire.at(Point.RECONS, d, gRecons);

        // d out / d f_i = decoderScale / norm_i · W_dec[i] (the reconstruction is linear in the features).
        float[] gf = new float[Math.multiplyExact(rows, dSae)];
        sae.backend().matmul(sae.decoderWeight(), gRecons, 0, rows, gf, 0);
        float[] norms = sae.decoderNormArray();
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < dSae; i++) gf[r * dSae + i] *= cfg.decoderScale() / (norms != null ? norms[i] : 1f);
        }
        for (FeatureEdit e : edits.reversed()) {
            float slope = switch (e) {
                case FeatureEdit.Clamp ignored -> 0f;
                case FeatureEdit.Ablate ignored -> 0f;
                case FeatureEdit.Scale s -> s.factor();
            };
            for (int r = 0; r < rows; r++) if (!unedited.get(first + r)) gf[r * dSae + e.feature()] *= slope;
        }
        fire.at(Point.ACTS_POST, dSae, gf);

        // Through the activation function: the features that fire pass their gradient (times the decoder norm that
        // TopK multiplies by), the others none.
        PositionScaling[] sc = new PositionScaling[1];
        float[] pre = sae.encoderImpl().preActivations(input.data(), 0, rows, sc);
        SparseFeatures active = sae.encoderImpl().activate(pre.clone(), rows, first, sc[0]);
        float[] gPre = new float[gf.length];
        boolean topK = cfg.architecture() == SaeArchitecture.TOPK && norms != null;
        for (int r = 0; r < rows; r++) {
            for (int j = active.offset(r); j < active.offset(r + 1); j++) {
                int i = active.idAt(j);
                gPre[r * dSae + i] = gf[r * dSae + i] * (topK ? norms[i] : 1f);
            }
        }
        fire.at(Point.ACTS_PRE, dSae, gPre);

        // pre = prepare(x) · W_enc + b_enc, prepare a constant scale (and a shift by b_dec).
        float[] gx = new float[rows * d];
        if (sae.encoderTransposed()) sae.backend().matmulKn(sae.encoderWeight(), gPre, 0, rows, gx, 0);
        else sae.backend().matmul(sae.encoderWeight(), gPre, 0, rows, gx, 0);
        float inScale = cfg.inputScale() * (cfg.normalization() == Normalization.EXPECTED_AVERAGE_ONLY_IN ? cfg.normScalingFactor() : 1f);
        if (inScale != 1f) for (int i = 0; i < gx.length; i++) gx[i] *= inScale;
        fire.at(Point.INPUT, d, gx);
        System.arraycopy(gx, 0, g, 0, gx.length);
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
