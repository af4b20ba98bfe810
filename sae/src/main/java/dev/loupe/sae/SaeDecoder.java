package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.sae.kernels.SparseRows;

/**
 * Sparse features → activations: {@code Σ_f a_f·W_dec[f]} over the decoder rows of the active features, plus
 * {@code b_dec} (a backend operation), then SAELens's output normalisation.
 */
final class SaeDecoder {

    private final Sae sae;
    private final SaeConfig cfg;

    SaeDecoder(Sae sae) {
        this.sae = sae;
        this.cfg = sae.config();
    }

    /** Full reconstruction {@code [positions, dIn]}, in the hook's activation space. */
    float[] decode(SparseFeatures f) {
        float[] out = decodeBeforeNormalization(f);
        unnormalize(out, f.positions(), f.scaling());
        return out;
    }

    /**
     * {@code f·W_dec + b_dec} with the SAE's folded scale factors, before run-time normalisation is undone:
     * what SAELens's {@code hook_sae_recons} sees.
     */
    float[] decodeBeforeNormalization(SparseFeatures f) {
        int d = cfg.dIn();
        if (f.dSae() != cfg.dSae()) {
            throw new BadInputException(cfg.source() + ": features have d_sae " + f.dSae() + ", SAE has " + cfg.dSae());
        }
        float[] out = new float[Math.multiplyExact(f.positions(), d)];
        float[] norms = sae.decoderNormArray();
        float outScale = cfg.normalization() == Normalization.EXPECTED_AVERAGE_ONLY_IN ? 1f / cfg.normScalingFactor() : 1f;
        int[] offsets = new int[f.positions() + 1];
        for (int p = 0; p <= f.positions(); p++) offsets[p] = f.offset(p);
        int[] ids = new int[offsets[f.positions()]];
        float[] coefficients = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = f.idAt(i);
            float a = f.valueAt(i) * cfg.decoderScale();
            coefficients[i] = norms != null ? a / norms[ids[i]] : a;
        }
        sae.kernels().decodeSparse(sae.decoderWeight(), new SparseRows(offsets, ids, coefficients), sae.bDecArray(), outScale, out);
        return out;
    }

    /** Undoes per-row normalisation in place. */
    void unnormalize(float[] out, int rows, PositionScaling scaling) {
        if (scaling == null) return;
        int d = cfg.dIn();
        for (int p = 0; p < rows; p++) {
            float s = scaling.scale(p), t = scaling.shift(p);
            for (int i = 0; i < d; i++) out[p * d + i] = out[p * d + i] * s + t;
        }
    }

    /** {@code a · W_dec[row]}, computed by the backend's sparse decode. */
    float[] scaledRow(float a, int row) {
        float[] out = new float[cfg.dIn()];
        sae.kernels().decodeSparse(sae.decoderWeight(), new SparseRows(new int[]{0, 1}, new int[]{row}, new float[]{a}),
                new float[cfg.dIn()], 1f, out);
        return out;
    }
}
