package dev.loupe.tools.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.DiskSpace;
import dev.loupe.sae.fit.ExemplarSae;
import dev.loupe.sae.io.NpzWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a random Gemma-Scope-shaped SAE ({@code params.npz}) for benchmarks and tests: {@code W_dec} rows of
 * roughly unit norm, {@code W_enc = W_decᵀ} (C order), zero biases and a constant threshold chosen so that
 * standard-normal inputs fire about {@code targetL0} features per position. Values are a pure function of
 * (seed, index), so the arrays are written in one streaming pass without holding them in memory.
 */
public final class SyntheticSae {
    private SyntheticSae() {}

    /** Writes {@code dir/params.npz} (via a temporary name) and returns its path. */
    public static Path write(Path dir, int dModel, int width, int targetL0, long seed) throws IOException {
        if (dModel <= 0 || width <= 0) throw new BadInputException("d_model and width must be positive, got " + dModel + " and " + width);
        if (targetL0 <= 0 || targetL0 > width) throw new BadInputException("target L0 must be in [1, " + width + "], got " + targetL0);
        // W_enc and W_dec, the three vectors, and a few hundred bytes of zip and .npy headers.
        long bytes = 4L * (2L * dModel * width + 2L * width + dModel) + 4096;
        DiskSpace.require(dir, bytes, "params.npz (d_model " + dModel + ", width " + width + ")");
        Files.createDirectories(dir);
        float scale = (float) (1 / Math.sqrt(dModel));
        // pre = x·W_enc[:, f] is ~N(0, 1) for x ~ N(0, I): fire with probability targetL0 / width.
        float threshold = (float) inverseNormalTail((double) targetL0 / width);
        Path target = dir.resolve(ExemplarSae.FILE);
        try (NpzWriter w = NpzWriter.create(target)) {
            w.add("W_enc", new long[]{dModel, width}, (start, chunk, n) -> {
                for (int i = 0; i < n; i++) {
                    long idx = start + i;
                    long row = idx / width, f = idx % width;
                    chunk[i] = scale * gaussian(seed, f * dModel + row);
                }
            });
            w.add("W_dec", new long[]{width, dModel}, (start, chunk, n) -> {
                for (int i = 0; i < n; i++) chunk[i] = scale * gaussian(seed, start + i);
            });
            w.add("b_enc", new long[]{width}, (start, chunk, n) -> java.util.Arrays.fill(chunk, 0, n, 0f));
            w.add("b_dec", new long[]{dModel}, (start, chunk, n) -> java.util.Arrays.fill(chunk, 0, n, 0f));
            w.add("threshold", new long[]{width}, (start, chunk, n) -> java.util.Arrays.fill(chunk, 0, n, threshold));
            return w.finish();
        }
    }

    /** A standard normal value determined by (seed, index): Box–Muller on two hashed uniforms. */
    static float gaussian(long seed, long index) {
        long h1 = mix(seed * 0x9E3779B97F4A7C15L + index);
        long h2 = mix(h1 ^ 0xD1B54A32D192ED03L);
        double u1 = ((h1 >>> 11) + 1) * 0x1.0p-53;
        double u2 = (h2 >>> 11) * 0x1.0p-53;
        return (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** t with P(Z > t) = p for standard normal Z, by bisection on erfc (accuracy far beyond what L0 needs). */
    static double inverseNormalTail(double p) {
        double lo = -10, hi = 10;
        for (int i = 0; i < 200; i++) {
            double mid = (lo + hi) / 2;
            if (upperTail(mid) > p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /** P(Z > t) via the Abramowitz–Stegun 7.1.26 erfc approximation (|error| < 1.5e-7). */
    static double upperTail(double t) {
        double x = Math.abs(t) / Math.sqrt(2);
        double k = 1 / (1 + 0.3275911 * x);
        double erfc = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429)))) * Math.exp(-x * x);
        return t >= 0 ? erfc / 2 : 1 - erfc / 2;
    }
}
