package dev.loupe.sae.fit;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;

import java.util.Arrays;
import java.util.Random;

/**
 * Spherical k-means: unit centroids that maximise the summed cosine between each point and its nearest
 * centroid. Seeded with k-means++ (each next seed drawn with probability proportional to its squared chordal
 * distance {@code 2 − 2cos} to the nearest seed so far, so seeds spread over the directions present), then
 * Lloyd iterations. Deterministic for a seed: {@link Random}'s generator is specified, and every reduction runs
 * in a fixed order.
 */
final class SphericalKMeans {
    private static final int CHUNK_VALUES = 1 << 22;
    private static final double DUPLICATE_CHORD = 1e-6;

    private final WeightTensor points;
    private final float[] norms;
    private final int n, d;
    private final Backend backend;

    /**
     * @param points {@code [n, d]} points (need not be unit: cosines divide by {@code norms})
     * @param norms  the points' Euclidean norms; points of norm 0 are never seeds and join no cluster
     */
    SphericalKMeans(WeightTensor points, float[] norms, Backend backend) {
        this.points = points;
        this.norms = norms;
        this.n = points.rows();
        this.d = points.cols();
        this.backend = backend;
    }

    /** {@code k} unit centroids {@code [k, d]} after k-means++ seeding and at most {@code iterations} Lloyd steps. */
    float[] fit(int k, long seed, int iterations) {
        float[] centroids = seed(k, seed);
        int[] assignment = new int[n];
        Arrays.fill(assignment, -1);
        float[] best = new float[n];
        for (int it = 0; it < iterations; it++) {
            boolean changed = assign(centroids, k, assignment, best);
            if (!changed) break;
            update(centroids, k, assignment, best);
        }
        return centroids;
    }

    private float[] seed(int k, long seed) {
        Random random = new Random(seed);
        float[] centroids = new float[k * d];
        double[] dist = new double[n];
        boolean[] taken = new boolean[n];
        int eligible = 0;
        for (int p = 0; p < n; p++) {
            if (norms[p] > 0) {
                dist[p] = Double.POSITIVE_INFINITY;
                eligible++;
            } else {
                taken[p] = true;
            }
        }
        if (eligible < k) {
            throw new BadInputException("only " + eligible + " non-zero points for " + k + " centroids: use more tokens or fewer features");
        }
        float[] cos = new float[n];
        float[] centre = new float[d];
        int pick = nth(taken, random.nextInt(eligible));
        for (int c = 0; c < k; c++) {
            if (c > 0) pick = draw(dist, taken, random, c);
            taken[pick] = true;
            dist[pick] = 0;
            float inv = 1f / norms[pick];
            float[] data = pointRow(pick);
            for (int i = 0; i < d; i++) centre[i] = data[i] * inv;
            System.arraycopy(centre, 0, centroids, c * d, d);
            backend.matmul(points, centre, 1, cos);
            for (int p = 0; p < n; p++) {
                if (taken[p]) continue;
                double chord = 2 - 2.0 * cos[p] / norms[p];
                // Rounding leaves ~1e-7 between copies of one direction (a repeated context); they are one direction.
                if (chord < DUPLICATE_CHORD) chord = 0;
                if (chord < dist[p]) dist[p] = chord;
            }
        }
        return centroids;
    }

    /** A point not yet taken, drawn with probability proportional to {@code dist}. */
    private int draw(double[] dist, boolean[] taken, Random random, int chosen) {
        double total = 0;
        for (int p = 0; p < n; p++) if (!taken[p]) total += dist[p];
        if (!(total > 1e-12)) {
            throw new BadInputException("the points span only " + chosen + " distinct directions: use more tokens or fewer features");
        }
        double target = random.nextDouble() * total, run = 0;
        int last = -1;
        for (int p = 0; p < n; p++) {
            if (taken[p] || dist[p] <= 0) continue;
            last = p;
            run += dist[p];
            if (run > target) return p;
        }
        return last;
    }

    private static int nth(boolean[] taken, int index) {
        for (int p = 0, seen = 0; p < taken.length; p++) {
            if (!taken[p] && seen++ == index) return p;
        }
        throw new IllegalStateException("no point " + index);
    }

    /** Assigns every point to its most similar centroid; returns whether any assignment changed. */
    private boolean assign(float[] centroids, int k, int[] assignment, float[] best) {
        Arrays.fill(best, Float.NEGATIVE_INFINITY);
        int[] next = new int[n];
        Arrays.fill(next, -1);
        int chunk = Math.max(1, Math.min(k, CHUNK_VALUES / Math.max(1, n)));
        float[] sims = new float[chunk * n];
        for (int start = 0; start < k; start += chunk) {
            int rows = Math.min(chunk, k - start);
            backend.matmul(points, centroids, start * d, rows, sims, 0);
            for (int r = 0; r < rows; r++) {
                for (int p = 0; p < n; p++) {
                    if (norms[p] == 0) continue;
                    float s = sims[r * n + p] / norms[p];
                    if (s > best[p]) {
                        best[p] = s;
                        next[p] = start + r;
                    }
                }
            }
        }
        boolean changed = !Arrays.equals(next, assignment);
        System.arraycopy(next, 0, assignment, 0, n);
        return changed;
    }

    /**
     * Each centroid becomes the normalised mean of its points' unit vectors; an empty cluster takes the worst-fitting
     * point not yet used for that (lowest cosine to its own centroid), so no centroid is wasted.
     */
    private void update(float[] centroids, int k, int[] assignment, float[] best) {
        double[] sums = new double[k * d];
        int[] counts = new int[k];
        for (int p = 0; p < n; p++) {
            int c = assignment[p];
            if (c < 0) continue;
            counts[c]++;
            float[] row = pointRow(p);
            double inv = 1.0 / norms[p];
            for (int i = 0; i < d; i++) sums[c * d + i] += row[i] * inv;
        }
        Integer[] worstFirst = null;
        int nextWorst = 0;
        for (int c = 0; c < k; c++) {
            if (counts[c] == 0) {
                if (worstFirst == null) worstFirst = byFit(assignment, best);
                if (nextWorst == worstFirst.length) continue;
                int p = worstFirst[nextWorst++];
                float[] row = pointRow(p);
                for (int i = 0; i < d; i++) centroids[c * d + i] = row[i] / norms[p];
                continue;
            }
            double norm = 0;
            for (int i = 0; i < d; i++) norm += sums[c * d + i] * sums[c * d + i];
            norm = Math.sqrt(norm);
            if (norm == 0) continue;
            for (int i = 0; i < d; i++) centroids[c * d + i] = (float) (sums[c * d + i] / norm);
        }
    }

    /** Assigned points ordered from the lowest cosine to their centroid up, ties by index. */
    private Integer[] byFit(int[] assignment, float[] best) {
        return java.util.stream.IntStream.range(0, n).filter(p -> assignment[p] >= 0).boxed()
                .sorted(java.util.Comparator.<Integer>comparingDouble(p -> best[p]).thenComparingInt(p -> p))
                .toArray(Integer[]::new);
    }

    private float[] pointRow(int p) {
        float[] row = new float[d];
        points.readRow(p, row, 0);
        return row;
    }
}
