package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;

/**
 * SAELens's "standard" SAE: {@code f = ReLU(pre)} with an L1 penalty weighted by decoder row norms,
 * {@code λ·Σ_f f·‖W_dec[f]‖} (Anthropic's April 2024 update), so the decoder is not constrained to unit norm.
 */
public final class StandardTrainingSae extends TrainingSae {
    private float[] decoderNorms;
    private int rows;

    public StandardTrainingSae(SaeParameters params, Backend backend) {
        super(params, backend);
    }

    @Override public String saeLensArchitecture() { return "standard"; }

    @Override public boolean unitNormDecoder() { return false; }

    @Override protected void beginBatch(int rows) {
        this.rows = rows;
        decoderNorms = rowNorms(params.decoder(), width, dIn);
    }

    @Override protected void select(float[] pre, int off, int row, SparseBatch.RowEntries main, SparseBatch.RowEntries aux) {
        for (int f = 0; f < width; f++) {
            float p = pre[off + f];
            if (p > 0f) main.add(f, p, p);
        }
    }

    @Override protected double activationGradients(int rows) {
        float perRow = sparsityCoefficient / rows;
        double loss = 0;
        for (int j = 0; j < main.nnz; j++) {
            float n = decoderNorms[main.feature[j]];
            main.gradPre[j] = main.gradAct[j] + perRow * n;
            loss += (double) main.act[j] * n;
        }
        return sparsityCoefficient * loss / rows;
    }

    @Override protected float decoderRowGradient(int f, double sumAct) {
        float n = decoderNorms[f];
        return sumAct == 0 || n == 0 ? 0f : (float) (sparsityCoefficient / rows * sumAct / n);
    }

    static float[] rowNorms(float[] m, int rows, int cols) {
        float[] out = new float[rows];
        for (int r = 0; r < rows; r++) out[r] = (float) Math.sqrt(TrainKernels.dot(m, r * cols, m, r * cols, cols));
        return out;
    }
}
