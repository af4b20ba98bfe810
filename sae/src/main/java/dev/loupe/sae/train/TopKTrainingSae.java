package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;
import dev.loupe.sae.fit.TopValues;

/**
 * TopK (Gao et al., 2024, as SAELens trains it): each row keeps its {@code k} largest pre-activations (those above
 * 0). Dead features get a gradient from the auxiliary loss AuxK: the top {@code k_aux} dead features of each row
 * reconstruct the main reconstruction's residual, weighted by {@code c·min(dead/k_aux, 1)}. Decoder rows are kept
 * at unit norm.
 */
public sealed class TopKTrainingSae extends TrainingSae permits BatchTopKTrainingSae {
    protected final int k;
    private final int kAux;
    private final float auxWeight;
    private final ThreadLocal<float[]> deadPre = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * @param k         features per row
     * @param kAux      dead features per row in the auxiliary loss (SAELens: {@code d_in / 2})
     * @param auxWeight the auxiliary loss's coefficient {@code c}
     */
    public TopKTrainingSae(SaeParameters params, Backend backend, int k, int kAux, float auxWeight) {
        super(params, backend);
        if (k < 1 || k > width) throw new BadInputException("k must be in [1, " + width + "], got " + k);
        this.k = k;
        this.kAux = Math.max(1, kAux);
        this.auxWeight = auxWeight;
    }

    @Override public String saeLensArchitecture() { return "topk"; }

    @Override public boolean unitNormDecoder() { return true; }

    public int k() { return k; }

    @Override protected void select(float[] pre, int off, int row, SparseBatch.RowEntries main, SparseBatch.RowEntries aux) {
        keepTop(pre, off, k, main);
        selectAux(pre, off, aux);
    }

    /** AuxK's pairs: the row's {@code k_aux} largest positive pre-activations among dead features. */
    protected final void selectAux(float[] pre, int off, SparseBatch.RowEntries aux) {
        if (deadCount > 0 && auxWeight > 0) {
            float[] d = deadPre.get();
            if (d.length < deadCount) deadPre.set(d = new float[deadCount]);
            for (int i = 0; i < deadCount; i++) d[i] = pre[off + deadList[i]];
            for (int i : TopValues.of(d, 0, deadCount, Math.min(kAux, deadCount))) {
                float p = d[i];
                if (p > 0f) aux.add(deadList[i], p, p);
            }
        }
    }

    /** Adds the {@code n} largest positive pre-activations of a row. */
    protected final void keepTop(float[] pre, int off, int n, SparseBatch.RowEntries out) {
        for (int i : TopValues.of(pre, off, width, n)) {
            float p = pre[off + i];
            if (p > 0f) out.add(i, p, p);
        }
    }

    @Override protected float auxCoefficient() {
        return deadCount == 0 ? 0f : auxWeight * Math.min(1f, (float) deadCount / kAux);
    }

    @Override protected double activationGradients(int rows) {
        for (int j = 0; j < main.nnz; j++) if (main.act[j] != 0f) main.gradPre[j] = main.gradAct[j];
        for (int j = 0; j < aux.nnz; j++) aux.gradPre[j] = aux.gradAct[j];
        return 0;
    }
}
