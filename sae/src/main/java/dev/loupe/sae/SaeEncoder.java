package dev.loupe.sae;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.PriorityQueue;

/**
 * Activations → sparse features: input preprocessing, {@code x·W_enc} on the backend (a blocked
 * matrix-matrix product over all positions of a chunk), bias and activation function on the Vector API.
 */
final class SaeEncoder {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
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
        float[] in = new float[chunk * cfg.dIn()];
        float[] pre = new float[chunk * cfg.dSae()];
        PositionScaling scaling = needsScaling() ? new PositionScaling(new float[rows], new float[rows]) : null;
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int n = Math.min(chunk, rows - r0);
            prepare(x, xOff + r0 * cfg.dIn(), n, in, scaling, r0);
            project(in, n, pre);
            int base = r0;
            sae.backend().parallelFor(n, r -> activateRow(pre, r, b, base + r));
        }
        return b.build(scaling);
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
        float[] zeroBias = new float[0];
        sae.backend().parallelFor(rows, r -> activateRow(pre, r, b, r, zeroBias));
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

    private void activateRow(float[] pre, int r, SparseFeatures.Builder b, int outRow) {
        activateRow(pre, r, b, outRow, sae.bEncArray());
    }

    /** Adds {@code bias} (unless empty) to row {@code r} of {@code pre} in place and collects its active features. */
    private void activateRow(float[] pre, int r, SparseFeatures.Builder b, int outRow, float[] bias) {
        int dSae = cfg.dSae();
        int off = r * dSae;
        if (bias.length > 0) addBias(pre, off, bias, dSae);
        switch (cfg.architecture()) {
            case JUMPRELU -> collectAbove(pre, off, sae.thresholdArray(), b, outRow);
            case RELU -> collectAbove(pre, off, null, b, outRow);
            case TOPK -> collectTopK(pre, off, b, outRow);
        }
    }

    private static void addBias(float[] pre, int off, float[] bias, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, pre, off + i).add(FloatVector.fromArray(S, bias, i)).intoArray(pre, off + i);
        }
        for (; i < n; i++) pre[off + i] += bias[i];
    }

    /** Features with {@code pre > 0} and, when given, {@code pre > threshold}. */
    private void collectAbove(float[] pre, int off, float[] threshold, SparseFeatures.Builder b, int outRow) {
        int n = cfg.dSae();
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, pre, off + i);
            VectorMask<Float> m = v.compare(VectorOperators.GT, 0f);
            if (threshold != null) m = m.and(v.compare(VectorOperators.GT, FloatVector.fromArray(S, threshold, i)));
            if (m.anyTrue()) {
                long bits = m.toLong();
                while (bits != 0) {
                    int lane = Long.numberOfTrailingZeros(bits);
                    b.add(outRow, i + lane, pre[off + i + lane]);
                    bits &= bits - 1;
                }
            }
        }
        for (; i < n; i++) {
            float v = pre[off + i];
            if (v > 0f && (threshold == null || v > threshold[i])) b.add(outRow, i, v);
        }
    }

    private void collectTopK(float[] pre, int off, SparseFeatures.Builder b, int outRow) {
        int n = cfg.dSae(), k = cfg.k();
        float[] norms = sae.decoderNormArray();
        PriorityQueue<long[]> heap = new PriorityQueue<>(k, (p, q) -> Float.compare(Float.intBitsToFloat((int) p[0]), Float.intBitsToFloat((int) q[0])));
        for (int i = 0; i < n; i++) {
            float v = pre[off + i];
            if (norms != null) v *= norms[i];
            if (heap.size() < k) heap.add(new long[]{Float.floatToRawIntBits(v), i});
            else if (v > Float.intBitsToFloat((int) heap.peek()[0])) {
                heap.poll();
                heap.add(new long[]{Float.floatToRawIntBits(v), i});
            }
        }
        for (long[] e : heap) {
            float v = Float.intBitsToFloat((int) e[0]);
            if (v > 0f) b.add(outRow, (int) e[1], v);
        }
    }
}
