package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;

import java.util.Arrays;

/**
 * BatchTopK (Bussmann et al., 2024, as SAELens trains it): the batch keeps its {@code k·rows} largest positive
 * pre-activations wherever they fall, so rows get {@code k} features on average. A running threshold (an
 * exponential average of the smallest kept activation) replaces the batch at inference: the SAE is written as a
 * JumpReLU SAE with that threshold for every feature, as SAELens does.
 *
 * <p>Each row offers at most {@code 4k} candidates to the batch-wide cut, which bounds memory; a row whose true
 * share of the batch's top {@code k·rows} exceeds {@code 4k} loses the rest.
 */
public final class BatchTopKTrainingSae extends TopKTrainingSae {
    /** SAELens's {@code topk_threshold_lr}. */
    private static final float THRESHOLD_RATE = 0.01f;
    private float runningThreshold;

    public BatchTopKTrainingSae(SaeParameters params, Backend backend, int k, int kAux, float auxWeight) {
        super(params, backend, k, kAux, auxWeight);
    }

    @Override public String saeLensArchitecture() { return "batchtopk"; }

    @Override protected void select(float[] pre, int off, int row, SparseBatch.RowEntries main, SparseBatch.RowEntries aux) {
        keepTop(pre, off, Math.min(width, 4 * k), main);
        selectAux(pre, off, aux);
    }

    @Override protected void endSelection(int rows) {
        long keep = (long) k * rows;
        if (main.nnz > keep) {
            float[] values = Arrays.copyOf(main.act, main.nnz);
            Arrays.sort(values);
            float cut = values[(int) (main.nnz - keep)];
            for (int j = 0; j < main.nnz; j++) if (main.act[j] < cut) main.act[j] = 0f;
            main.dropZeros();
        }
        float min = Float.POSITIVE_INFINITY;
        for (int j = 0; j < main.nnz; j++) min = Math.min(min, main.act[j]);
        if (min < Float.POSITIVE_INFINITY) {
            runningThreshold = runningThreshold == 0f ? min : (1 - THRESHOLD_RATE) * runningThreshold + THRESHOLD_RATE * min;
        }
    }

    /** The inference threshold: the running average of the smallest kept activation. */
    public float runningThreshold() { return runningThreshold; }

    public void restoreRunningThreshold(float t) { this.runningThreshold = t; }
}
