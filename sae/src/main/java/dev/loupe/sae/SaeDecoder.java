package dev.loupe.sae;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Sparse features → activations: {@code Σ_f a_f·W_dec[f]} read straight from the (mapped) decoder rows of the
 * active features, plus {@code b_dec}, then SAELens's output normalisation.
 */
final class SaeDecoder {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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
            throw new IllegalArgumentException(cfg.source() + ": features have d_sae " + f.dSae() + ", SAE has " + cfg.dSae());
        }
        float[] out = new float[Math.multiplyExact(f.positions(), d)];
        float[] bDec = sae.bDecArray();
        float[] norms = sae.decoderNormArray();
        float outScale = cfg.normalization() == Normalization.EXPECTED_AVERAGE_ONLY_IN ? 1f / cfg.normScalingFactor() : 1f;
        sae.backend().parallelFor(f.positions(), p -> {
            int off = p * d;
            float[] tmp = null;
            for (int i = f.offset(p); i < f.offset(p + 1); i++) {
                int id = f.idAt(i);
                float a = f.valueAt(i) * cfg.decoderScale();
                if (norms != null) a /= norms[id];
                tmp = addRow(a, id, out, off, tmp);
            }
            for (int i = 0; i < d; i++) out[off + i] = (out[off + i] + bDec[i]) * outScale;
        });
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

    /** {@code out[off..off+d) += a · W_dec[row]}; returns the scratch row used for non-F32 decoders. */
    float[] addRow(float a, int row, float[] out, int off, float[] tmp) {
        WeightTensor w = sae.decoderWeight();
        int d = cfg.dIn();
        if (w.dtype() == DType.F32) {
            axpy(a, w.data(), (long) row * d * 4, out, off, d);
            return tmp;
        }
        if (tmp == null) tmp = new float[d];
        w.readRow(row, tmp, 0);
        for (int i = 0; i < d; i++) out[off + i] += a * tmp[i];
        return tmp;
    }

    static void axpy(float a, MemorySegment w, long byteOff, float[] out, int off, int n) {
        int i = 0;
        FloatVector av = FloatVector.broadcast(S, a);
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromMemorySegment(S, w, byteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(av, FloatVector.fromArray(S, out, off + i)).intoArray(out, off + i);
        }
        for (; i < n; i++) out[off + i] += a * w.get(F32, byteOff + 4L * i);
    }
}
