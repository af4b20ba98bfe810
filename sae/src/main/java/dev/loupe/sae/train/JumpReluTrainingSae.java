package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;

/**
 * JumpReLU as trained for Gemma Scope (Rajamanoharan et al., "Jumping Ahead", 2024): {@code f = pre·H(pre − θ)}
 * with an L0 penalty {@code λ·Σ_f H(pre − θ)}. The step function has no useful gradient, so straight-through
 * estimators with a rectangle kernel {@code K(u) = 1[|u| < ½]} of bandwidth {@code ε} give the threshold one:
 * <ul>
 *   <li>{@code ∂f/∂pre = H(pre − θ)}, {@code ∂f/∂θ = −(θ/ε)·K((pre − θ)/ε)};</li>
 *   <li>{@code ∂H/∂pre = 0}, {@code ∂H/∂θ = −(1/ε)·K((pre − θ)/ε)}.</li>
 * </ul>
 * Pairs inside the kernel window that do not fire are kept with activation 0 so that their threshold gradient is
 * counted. {@code θ} is trained as {@code log θ}, as SAELens does; decoder rows are kept at unit norm.
 */
public final class JumpReluTrainingSae extends TrainingSae {
    private final float bandwidth;
    private final float[] threshold;

    public JumpReluTrainingSae(SaeParameters params, Backend backend, float bandwidth) {
        super(params, backend);
        if (params.logThreshold() == null) throw new IllegalArgumentException("a JumpReLU SAE needs a log threshold");
        if (!(bandwidth > 0)) throw new BadInputException("bandwidth must be positive, got " + bandwidth);
        this.bandwidth = bandwidth;
        this.threshold = new float[width];
    }

    @Override public String saeLensArchitecture() { return "jumprelu"; }

    @Override public boolean unitNormDecoder() { return true; }

    @Override protected void beginBatch(int rows) {
        float[] log = params.logThreshold();
        for (int f = 0; f < width; f++) threshold[f] = (float) Math.exp(log[f]);
    }

    @Override protected void select(float[] pre, int off, int row, SparseBatch.RowEntries main, SparseBatch.RowEntries aux) {
        float half = bandwidth / 2;
        for (int f = 0; f < width; f++) {
            float p = pre[off + f], t = threshold[f];
            if (p > t) main.add(f, p, p);
            else if (p > t - half) main.add(f, p, 0f);
        }
    }

    @Override protected double activationGradients(int rows) {
        float lambdaPerRow = sparsityCoefficient / rows;
        float[] gLog = grads.logThreshold();
        float half = bandwidth / 2;
        long active = 0;
        for (int j = 0; j < main.nnz; j++) {
            int f = main.feature[j];
            float t = threshold[f];
            if (main.act[j] != 0f) {
                main.gradPre[j] = main.gradAct[j];
                active++;
            }
            if (Math.abs(main.pre[j] - t) < half) {
                float dTheta = -(t / bandwidth) * main.gradAct[j] - lambdaPerRow / bandwidth;
                gLog[f] += t * dTheta;  // θ = exp(log θ)
            }
        }
        return (double) sparsityCoefficient * active / rows;
    }

    /** The thresholds {@code θ = exp(log θ)}. */
    public float[] threshold() {
        float[] log = params.logThreshold();
        float[] out = new float[width];
        for (int f = 0; f < width; f++) out[f] = (float) Math.exp(log[f]);
        return out;
    }
}
