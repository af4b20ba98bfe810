package dev.loupe.sae;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.Backend;
import dev.loupe.sae.kernels.SaeActivation;
import dev.loupe.sae.kernels.SaeEncoding;

/**
 * Activations → sparse features: input preprocessing here, then {@code x·W_enc}, bias and activation function
 * as one backend operation over all positions of a chunk (a blocked matrix-matrix product on the CPU).
 */
final class SaeEncoder {
    /** Pre-activation buffer budget per chunk (floats): large chunks reuse each W_enc tile across more positions. */
    private static final int CHUNK_FLOATS = 16 << 20;
    private static final float LAYER_NORM_EPS = 1e-5f;

    private final Sae sae;
    private final SaeConfig cfg;

    SaeEncoder(Sae sae) {
        this.sae = sae;
        this.cfg = sae.config();
    }

    int chunkRows(int rows) {
        return Math.max(1, Math.min(rows, CHUNK_FLOATS / cfg.dSae()));
    }

    SparseFeatures encode(float[] x, int xOff, int rows, int firstPosition) {
        SparseFeatures.Builder b = new SparseFeatures.Builder(cfg.dSae(), firstPosition, rows);
        int chunk = chunkRows(rows);
        Backend be = sae.backend();
        // The preprocessed input is staged on the host (the CPU's buffer is that array), the dense
        // pre-activations stay with the backend: only the active features come back.
        ActivationBuffer inBuf = be.allocate(chunk * cfg.dIn());
        ActivationBuffer pre = be.allocate(chunk * cfg.dSae());
        float[] in = inBuf.toHost();
        SaeEncoding encoding = encoding();
        PositionScaling scaling = needsScaling() ? new PositionScaling(new float[rows], new float[rows]) : null;
        try {
            for (int r0 = 0; r0 < rows; r0 += chunk) {
                int n = Math.min(chunk, rows - r0);
                prepare(x, xOff + r0 * cfg.dIn(), n, in, scaling, r0);
                inBuf.fromHost(in);
                int base = r0;
                sae.kernels().encodeSparse(encoding, inBuf, n, pre, (r, f, v) -> b.add(base + r, f, v));
            }
        } finally {
            inBuf.release();
            pre.release();
        }
        return b.build(scaling);
    }

    /** The encoder as the backend sees it. */
    SaeEncoding encoding() {
        return new SaeEncoding(sae.encoderWeight(), sae.encoderTransposed(), sae.bEncArray(), activation());
    }

    private SaeActivation activation() {
        return switch (cfg.architecture()) {
            case JUMPRELU -> new SaeActivation.JumpRelu(sae.thresholdArray());
            case RELU -> new SaeActivation.JumpRelu(null);
            case TOPK -> new SaeActivation.TopK(cfg.k(), sae.decoderNormArray());
        };
    }

    /**
     * Dense pre-activations {@code [rows, dSae]} (including {@code b_enc}; for TopK with
     * {@code rescale_acts_by_decoder_norm}, before that rescaling), and the decode-time scaling in {@code scalingOut[0]}.
     */
    float[] preActivations(float[] x, int xOff, int rows, PositionScaling[] scalingOut) {
        float[] pre = new float[Math.multiplyExact(rows, cfg.dSae())];
        float[] in = new float[rows * cfg.dIn()];
        PositionScaling scaling = needsScaling() ? new PositionScaling(new float[rows], new float[rows]) : null;
        prepare(x, xOff, rows, in, scaling, 0);
        project(in, rows, pre);
        float[] bEnc = sae.bEncArray();
        for (int r = 0; r < rows; r++) {
            int off = r * cfg.dSae();
            for (int i = 0; i < cfg.dSae(); i++) pre[off + i] += bEnc[i];
        }
        if (scalingOut != null) scalingOut[0] = scaling;
        return pre;
    }

    /** Applies the activation function to dense pre-activations (which already include b_enc). */
    SparseFeatures activate(float[] pre, int rows, int firstPosition, PositionScaling scaling) {
        SparseFeatures.Builder b = new SparseFeatures.Builder(cfg.dSae(), firstPosition, rows);
        sae.kernels().activateSparse(activation(), pre, rows, cfg.dSae(), new float[0], b::add);
        return b.build(scaling);
    }

    private boolean needsScaling() {
        return cfg.normalization() == Normalization.CONSTANT_NORM_RESCALE || cfg.normalization() == Normalization.LAYER_NORM;
    }

    /** Copies {@code n} input rows into {@code in}, applying normalisation, b_dec subtraction and input scale. */
    private void prepare(float[] x, int xOff, int n, float[] in, PositionScaling scaling, int scalingRow) {
        int d = cfg.dIn();
        System.arraycopy(x, xOff, in, 0, n * d);
        float[] bDec = sae.bDecArray();
        for (int r = 0; r < n; r++) {
            int off = r * d;
            switch (cfg.normalization()) {
                case CONSTANT_NORM_RESCALE -> {
                    double ss = 0;
                    for (int i = 0; i < d; i++) ss += (double) in[off + i] * in[off + i];
                    float coeff = (float) (Math.sqrt(d) / Math.sqrt(ss));
                    for (int i = 0; i < d; i++) in[off + i] *= coeff;
                    scaling.scale()[scalingRow + r] = 1f / coeff;
                }
                case LAYER_NORM -> {
                    double sum = 0;
                    for (int i = 0; i < d; i++) sum += in[off + i];
                    float mu = (float) (sum / d);
                    double ss = 0;
                    for (int i = 0; i < d; i++) {
                        in[off + i] -= mu;
                        ss += (double) in[off + i] * in[off + i];
                    }
                    float std = (float) Math.sqrt(ss / Math.max(1, d - 1));
                    float inv = 1f / (std + LAYER_NORM_EPS);
                    for (int i = 0; i < d; i++) in[off + i] *= inv;
                    scaling.scale()[scalingRow + r] = std;
                    scaling.shift()[scalingRow + r] = mu;
                }
                case EXPECTED_AVERAGE_ONLY_IN -> {
                    float s = cfg.normScalingFactor();
                    for (int i = 0; i < d; i++) in[off + i] *= s;
                }
                case NONE -> { }
            }
            if (cfg.applyBDecToInput()) {
                for (int i = 0; i < d; i++) in[off + i] -= bDec[i];
            }
            if (cfg.inputScale() != 1f) {
                float s = cfg.inputScale();
                for (int i = 0; i < d; i++) in[off + i] *= s;
            }
        }
    }

    /** {@code pre[r, :] = in[r, :] · W_enc} for {@code n} rows, without bias. */
    private void project(float[] in, int n, float[] pre) {
        if (sae.encoderTransposed()) sae.backend().matmul(sae.encoderWeight(), in, 0, n, pre, 0);
        else sae.backend().matmulKn(sae.encoderWeight(), in, 0, n, pre, 0);
    }
}
