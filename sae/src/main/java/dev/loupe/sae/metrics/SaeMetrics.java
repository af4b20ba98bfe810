package dev.loupe.sae.metrics;

/**
 * SAE quality metrics as pure functions over row-major arrays, named and defined as in SAELens's
 * {@code evals.py}. Sums are taken in double precision.
 */
public final class SaeMetrics {
    private SaeMetrics() {}

    /** Mean number of active features per position. */
    public static double meanL0(int[] l0) {
        if (l0.length == 0) return Double.NaN;
        long s = 0;
        for (int v : l0) s += v;
        return (double) s / l0.length;
    }

    /** Mean squared reconstruction error over all positions and dimensions. */
    public static double mse(float[] x, float[] recon) {
        requireSame(x, recon);
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            double e = x[i] - recon[i];
            s += e * e;
        }
        return s / x.length;
    }

    /**
     * Fraction of variance unexplained: {@code Σ(x − x̂)² / Σ(x − mean_over_positions(x))²}, sums over all
     * positions and dimensions.
     */
    public static double fvu(float[] x, float[] recon, int rows, int d) {
        ReconstructionStats s = new ReconstructionStats(d);
        s.add(x, recon, rows);
        return s.fvu();
    }

    /** {@code 1 − fvu}: SAELens's (corrected) {@code explained_variance}. */
    public static double explainedVariance(float[] x, float[] recon, int rows, int d) {
        return 1 - fvu(x, recon, rows, d);
    }

    /**
     * SAELens's {@code explained_variance_legacy}: per position {@code 1 − ‖x − x̂‖² / ‖x − mean(x)‖²} (mean over the
     * positions given), averaged over positions.
     */
    public static double explainedVarianceLegacy(float[] x, float[] recon, int rows, int d) {
        requireSame(x, recon);
        double[] mean = new double[d];
        for (int r = 0; r < rows; r++) for (int i = 0; i < d; i++) mean[i] += x[r * d + i];
        for (int i = 0; i < d; i++) mean[i] /= rows;
        double total = 0;
        for (int r = 0; r < rows; r++) {
            double resid = 0, var = 0;
            for (int i = 0; i < d; i++) {
                double e = x[r * d + i] - recon[r * d + i], c = x[r * d + i] - mean[i];
                resid += e * e;
                var += c * c;
            }
            total += 1 - resid / var;
        }
        return total / rows;
    }

    /**
     * Next-token cross-entropy at each position: {@code −log softmax(logits[p])[tokens[p+1]]} for
     * {@code p < n−1} (TransformerLens's per-token loss), from {@code [n, vocab]} logits.
     */
    public static double[] crossEntropyPerToken(float[] logits, int vocab, int[] tokens) {
        int n = tokens.length;
        if ((long) n * vocab != logits.length) {
            throw new IllegalArgumentException("logits hold " + logits.length + " values, expected [" + n + ", " + vocab + "]");
        }
        double[] out = new double[Math.max(0, n - 1)];
        for (int p = 0; p + 1 < n; p++) out[p] = logSumExp(logits, p * vocab, vocab) - logits[p * vocab + tokens[p + 1]];
        return out;
    }

    /** Mean of {@link #crossEntropyPerToken}. */
    public static double crossEntropy(float[] logits, int vocab, int[] tokens) {
        return mean(crossEntropyPerToken(logits, vocab, tokens));
    }

    /** {@code KL(clean ‖ other)} per position, summed over the vocabulary, from {@code [n, vocab]} logits. */
    public static double[] klDivergencePerPosition(float[] cleanLogits, float[] otherLogits, int vocab) {
        requireSame(cleanLogits, otherLogits);
        int n = cleanLogits.length / vocab;
        double[] out = new double[n];
        for (int p = 0; p < n; p++) {
            int off = p * vocab;
            double lzc = logSumExp(cleanLogits, off, vocab), lzo = logSumExp(otherLogits, off, vocab);
            double kl = 0;
            for (int v = 0; v < vocab; v++) {
                double lpc = cleanLogits[off + v] - lzc;
                double lpo = otherLogits[off + v] - lzo;
                kl += Math.exp(lpc) * (lpc - lpo);
            }
            out[p] = kl;
        }
        return out;
    }

    /** SAELens's {@code ce_loss_score}: the share of the loss increase from zero-ablation that the SAE recovers. */
    public static double ceLossScore(double clean, double withSae, double withAblation) {
        return (withAblation - withSae) / (withAblation - clean);
    }

    /** SAELens's {@code kl_div_score}: {@code (KL_ablation − KL_sae) / KL_ablation}. */
    public static double klDivScore(double withSae, double withAblation) {
        return (withAblation - withSae) / withAblation;
    }

    static double logSumExp(float[] a, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, a[off + i]);
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.exp(a[off + i] - max);
        return max + Math.log(s);
    }

    static double mean(double[] v) {
        if (v.length == 0) return Double.NaN;
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    private static void requireSame(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("arrays differ in length: " + a.length + " vs " + b.length);
    }
}
