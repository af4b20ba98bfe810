package dev.loupe.sae.metrics;

/**
 * Running sums for reconstruction metrics over many batches of positions, so FVU and explained variance are
 * computed over the whole set rather than averaged per batch: {@code Σ‖x − x̂‖²}, {@code Σ‖x‖²} and the
 * per-dimension {@code Σx}, giving total variance {@code Σ‖x‖² − n·‖mean(x)‖²}.
 */
public final class ReconstructionStats {
    private final int d;
    private final double[] sum;
    private double sumSq, residSq;
    private long rows, active;

    public ReconstructionStats(int d) {
        this.d = d;
        this.sum = new double[d];
    }

    /** Adds {@code rows} positions of inputs and reconstructions ({@code [rows, d]}). */
    public void add(float[] x, float[] recon, int rows) {
        if (x.length != (long) rows * d || recon.length != x.length) {
            throw new IllegalArgumentException("expected [" + rows + ", " + d + "] inputs and reconstructions, got "
                    + x.length + " and " + recon.length + " values");
        }
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                double v = x[r * d + i], e = v - recon[r * d + i];
                sum[i] += v;
                sumSq += v * v;
                residSq += e * e;
            }
        }
        this.rows += rows;
    }

    /** Adds active-feature counts for L0. */
    public void addL0(int[] l0) {
        for (int v : l0) active += v;
    }

    public long positions() { return rows; }

    public double meanL0() { return rows == 0 ? Double.NaN : (double) active / rows; }

    public double mse() { return residSq / (rows * (double) d); }

    public double fvu() {
        double meanSq = 0;
        for (int i = 0; i < d; i++) {
            double m = sum[i] / rows;
            meanSq += m * m;
        }
        return residSq / (sumSq - rows * meanSq);
    }

    public double explainedVariance() { return 1 - fvu(); }
}
