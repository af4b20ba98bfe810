package dev.loupe.sae.fit;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.sae.io.NpzWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Gemma-Scope-format JumpReLU SAE fitted to a sample of a model's activations without gradient training: an
 * "exemplar dictionary". Deterministic for a seed.
 *
 * <ol>
 *   <li>{@code b_dec} is the sample mean; the rest works on centred activations {@code c = x − b_dec}.</li>
 *   <li>The feature directions {@code d_f} are spherical k-means centroids of the centred activations, so each
 *       feature stands for a cluster of similar contexts and the features spread over the directions present.</li>
 *   <li>Each feature's unscaled pre-activation is {@code c·d_f}; its threshold lets it fire on its top
 *       {@code ≈ targetL0 · rows / width} sample rows (and only where that is positive), so the sample's mean L0
 *       is the target and no feature is left without examples.</li>
 *   <li>With those activations fixed, per-feature scales {@code s_f ≥ 0} minimise the reconstruction error of
 *       {@code Σ s_f (c·d_f) d_f} (cyclic coordinate descent on the sparse least-squares problem): features that
 *       fire together share a direction's magnitude instead of each adding all of it; a small L2 penalty on the
       activations keeps near-duplicate features alive.</li>
 * </ol>
 *
 * As in Gemma Scope, decoder rows are unit vectors and activations carry the magnitude:
 * {@code W_dec[f] = d_f}, {@code W_enc[:, f] = s_f d_f}, {@code b_enc[f] = −s_f (b_dec·d_f)} (Gemma Scope's encoder
 * does not subtract {@code b_dec}, so it is folded into {@code b_enc}), {@code threshold[f] = s_f t_f}. A feature
 * whose best scale is 0 adds nothing the others do not; it is left dead (zero encoder column, never fires).
 */
public final class ExemplarSae {
    /**
     * @param width            number of features
     * @param targetL0         mean active features per sample row
     * @param seed             k-means++ seed
     * @param kMeansIterations at most this many Lloyd steps after seeding
     * @param scaleSweeps      at most this many coordinate-descent sweeps over the scales
     * @param activationPenalty λ in the scales' objective {@code Σ‖c − ĉ‖² + λ Σ act²} (the sum over every
     *                          activation of the finished SAE on the sample); a little of it spreads weight over
     *                          near-duplicate features instead of leaving all but one of them dead
     */
    public record Options(int width, int targetL0, long seed, int kMeansIterations, int scaleSweeps, double activationPenalty) {
        public Options {
            if (width < 1) throw new BadInputException("SAE width must be at least 1, got " + width);
            if (targetL0 < 1 || targetL0 > width) throw new BadInputException("target L0 must be in [1, " + width + "], got " + targetL0);
            if (kMeansIterations < 0 || scaleSweeps < 0) {
                throw new BadInputException("iteration counts must not be negative, got " + kMeansIterations + " and " + scaleSweeps);
            }
            if (!(activationPenalty >= 0)) throw new BadInputException("activation penalty must be at least 0, got " + activationPenalty);
        }

        /**
         * 10 Lloyd steps, up to 50 scale sweeps, activation penalty 0.3 (on the demo model's layer-2 residual at
         * width 512 and L0 16: 61 of 512 features dead and FVU 0.195 without it, 6 dead and FVU 0.201 with it).
         */
        public static Options of(int width, int targetL0, long seed) { return new Options(width, targetL0, seed, 10, 50, 0.3); }
    }

    /**
     * How the SAE reconstructs its own sample.
     *
     * @param rows         sample rows
     * @param meanL0       mean active features per row
     * @param fvu          fraction of variance unexplained, {@code Σ‖x − x̂‖² / Σ‖x − mean‖²}
     * @param deadFeatures features that never fire
     */
    public record Stats(int rows, double meanL0, double fvu, int deadFeatures) {}

    /** Sweeps stop once one improves the objective by less than this fraction of the total variance. */
    private static final double SWEEP_TOLERANCE = 1e-6;
    private static final int CHUNK_VALUES = 1 << 22;
    /** The file name Gemma Scope releases (and {@code Sae.load}) use. */
    public static final String FILE = "params.npz";

    private final String hook;
    private final int dIn, width;
    private final float[] directions, scales, offsets, thresholds, mean;
    private final Stats stats;

    private ExemplarSae(String hook, int dIn, int width, float[] directions, float[] scales, float[] offsets,
                        float[] thresholds, float[] mean, Stats stats) {
        this.hook = hook;
        this.dIn = dIn;
        this.width = width;
        this.directions = directions;
        this.scales = scales;
        this.offsets = offsets;
        this.thresholds = thresholds;
        this.mean = mean;
        this.stats = stats;
    }

    /** Fits an SAE of {@code options.width()} features to {@code sample}, computing products on {@code backend}. */
    public static ExemplarSae fit(HookSample sample, Options options, Backend backend) {
        int n = sample.rows(), d = sample.width(), k = options.width();
        if (k > n) {
            throw new BadInputException(sample.hook() + ": " + k + " features need at least as many sample positions, got " + n
                    + " (use a larger corpus or a smaller width)");
        }
        float[] x = sample.data();
        float[] mean = new float[d];
        double[] sum = new double[d];
        for (int p = 0; p < n; p++) for (int i = 0; i < d; i++) sum[i] += x[p * d + i];
        for (int i = 0; i < d; i++) mean[i] = (float) (sum[i] / n);
        float[] centred = new float[n * d];
        float[] norms = new float[n];
        double totalVariance = 0;
        for (int p = 0; p < n; p++) {
            double sq = 0;
            for (int i = 0; i < d; i++) {
                float c = x[p * d + i] - mean[i];
                centred[p * d + i] = c;
                sq += (double) c * c;
            }
            norms[p] = (float) Math.sqrt(sq);
            totalVariance += sq;
        }
        if (!(totalVariance > 0)) throw new BadInputException(sample.hook() + ": every sample position holds the same activation");
        WeightTensor points = HeapTensor.of("centred activations at " + sample.hook(), centred, n, d);
        float[] directions = new SphericalKMeans(points, norms, backend).fit(k, options.seed(), options.kMeansIterations());

        Firing firing = fire(points, directions, k, options.targetL0(), backend);
        float[] residual = centred.clone();
        float[] scales = fitScales(firing, directions, residual, n, d, k, totalVariance, options);

        float[] offsets = new float[k];
        long active = 0;
        int dead = 0;
        for (int f = 0; f < k; f++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += (double) mean[i] * directions[f * d + i];
            offsets[f] = (float) dot;
            if (scales[f] > 0) active += firing.rows[f].length;
            else dead++;
        }
        double err = 0;
        for (float r : residual) err += (double) r * r;
        Stats stats = new Stats(n, (double) active / n, err / totalVariance, dead);
        return new ExemplarSae(sample.hook(), d, k, directions, scales, offsets, firing.thresholds, mean, stats);
    }

    /** Each feature's active sample rows, their unscaled activations {@code c·d_f}, and its unscaled threshold. */
    private record Firing(int[][] rows, float[][] values, float[] thresholds) {}

    private static Firing fire(WeightTensor points, float[] directions, int k, int targetL0, Backend backend) {
        int n = points.rows(), d = points.cols();
        long total = (long) targetL0 * n;
        long base = total / k, extra = total % k;
        int[][] rows = new int[k][];
        float[][] values = new float[k][];
        float[] thresholds = new float[k];
        int chunk = Math.max(1, Math.min(k, CHUNK_VALUES / n));
        float[] pre = new float[chunk * n];
        for (int start = 0; start < k; start += chunk) {
            int count = Math.min(chunk, k - start);
            backend.matmul(points, directions, start * d, count, pre, 0);
            for (int r = 0; r < count; r++) {
                int f = start + r;
                int quota = (int) Math.min(n, base + (f < extra ? 1 : 0));
                int[] top = TopValues.of(pre, r * n, n, quota + 1);
                float t = threshold(pre, r * n, top, quota);
                int fired = 0;
                while (fired < top.length && pre[r * n + top[fired]] > t) fired++;
                rows[f] = Arrays.copyOf(top, fired);
                Arrays.sort(rows[f]);
                values[f] = new float[fired];
                for (int j = 0; j < fired; j++) values[f][j] = pre[r * n + rows[f][j]];
                thresholds[f] = t;
            }
        }
        return new Firing(rows, values, thresholds);
    }

    /**
     * A threshold (never below 0) strictly below the {@code quota}-th largest value and at or above the next one:
     * halfway between them, so that recomputing the pre-activations with other rounding keeps the same rows.
     */
    private static float threshold(float[] pre, int off, int[] top, int quota) {
        if (quota == 0) return Math.max(0f, pre[off + top[0]]);
        if (quota >= top.length) return 0f;
        float in = pre[off + top[quota - 1]], out = pre[off + top[quota]];
        if (in <= 0) return 0f;
        float t = (float) Math.max(0, ((double) in + out) / 2);
        return in > t ? t : Math.nextDown(in);
    }

    /**
     * Non-negative scales minimising {@code Σ‖r‖² + λ Σ_f s_f² Σ_p a_pf²} by cyclic coordinate descent (each step
     * solves for one scale exactly); {@code residual} starts as the centred sample and ends as its reconstruction
     * error.
     */
    private static float[] fitScales(Firing firing, float[] directions, float[] residual, int n, int d, int k,
                                     double totalVariance, Options options) {
        double lambda = options.activationPenalty();
        double[] scale = new double[k];
        double[] curvature = new double[k];
        for (int f = 0; f < k; f++) for (float a : firing.values[f]) curvature[f] += (double) a * a;
        double objective = totalVariance;
        for (int sweep = 0; sweep < options.scaleSweeps(); sweep++) {
            for (int f = 0; f < k; f++) {
                if (curvature[f] == 0) continue;
                int[] rows = firing.rows[f];
                float[] vals = firing.values[f];
                int dir = f * d;
                double g = 0;
                for (int j = 0; j < rows.length; j++) {
                    int row = rows[j] * d;
                    double dot = 0;
                    for (int i = 0; i < d; i++) dot += (double) residual[row + i] * directions[dir + i];
                    g += vals[j] * dot;
                }
                // Unit d_f: the residual without f's term, projected on the rows where f fires, is g + s_f·curvature.
                double next = Math.max(0, (scale[f] * curvature[f] + g) / (curvature[f] * (1 + lambda)));
                double delta = next - scale[f];
                if (delta == 0) continue;
                scale[f] = next;
                for (int j = 0; j < rows.length; j++) {
                    int row = rows[j] * d;
                    float step = (float) (delta * vals[j]);
                    for (int i = 0; i < d; i++) residual[row + i] -= step * directions[dir + i];
                }
            }
            double now = 0;
            for (float r : residual) now += (double) r * r;
            for (int f = 0; f < k; f++) now += lambda * scale[f] * scale[f] * curvature[f];
            boolean converged = objective - now < SWEEP_TOLERANCE * totalVariance;
            objective = now;
            if (converged) break;
        }
        float[] out = new float[k];
        for (int f = 0; f < k; f++) out[f] = (float) scale[f];
        return out;
    }

    public String hook() { return hook; }

    public int dIn() { return dIn; }

    public int width() { return width; }

    public Stats stats() { return stats; }

    /** Unit decoder row {@code W_dec[f]}. */
    public float[] direction(int f) {
        if (f < 0 || f >= width) throw new BadInputException("feature " + f + " out of range [0, " + width + ")");
        return Arrays.copyOfRange(directions, f * dIn, (f + 1) * dIn);
    }

    /** Writes {@code dir/params.npz} in Gemma Scope's layout (via a temporary name) and returns its path. */
    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (NpzWriter w = NpzWriter.create(dir.resolve(FILE))) {
            w.add("W_enc", new long[]{dIn, width}, (start, chunk, count) -> {
                for (int j = 0; j < count; j++) {
                    long idx = start + j;
                    int i = (int) (idx / width), f = (int) (idx % width);
                    chunk[j] = scales[f] * directions[f * dIn + i];
                }
            });
            w.add("W_dec", new long[]{width, dIn}, (start, chunk, count) -> System.arraycopy(directions, (int) start, chunk, 0, count));
            w.add("b_enc", new long[]{width}, (start, chunk, count) -> {
                for (int j = 0; j < count; j++) chunk[j] = -scales[(int) start + j] * offsets[(int) start + j];
            });
            w.add("b_dec", new long[]{dIn}, (start, chunk, count) -> System.arraycopy(mean, (int) start, chunk, 0, count));
            w.add("threshold", new long[]{width}, (start, chunk, count) -> {
                for (int j = 0; j < count; j++) chunk[j] = scales[(int) start + j] * thresholds[(int) start + j];
            });
            return w.finish();
        }
    }
}
