package dev.loupe.sae.train;

import java.util.Random;
import java.util.SplittableRandom;

/**
 * SAELens's synthetic-data check: a known dictionary of unit directions, each active independently with a small
 * probability and a random magnitude, summed (plus a fixed offset) into activations. Row {@code i} depends only on
 * {@code (seed, i)}, so the stream can be resumed anywhere.
 */
final class PlantedFeatures implements ActivationSource {
    final int dIn, features;
    final float[] directions, offset;
    private final double probability;
    private final long seed;
    private long row;

    PlantedFeatures(int dIn, int features, double meanActive, long seed) {
        this.dIn = dIn;
        this.features = features;
        this.probability = meanActive / features;
        this.seed = seed;
        Random r = new Random(seed);
        directions = new float[features * dIn];
        for (int f = 0; f < features; f++) {
            double sq = 0;
            for (int i = 0; i < dIn; i++) {
                float g = (float) r.nextGaussian();
                directions[f * dIn + i] = g;
                sq += g * g;
            }
            for (int i = 0; i < dIn; i++) directions[f * dIn + i] /= (float) Math.sqrt(sq);
        }
        offset = new float[dIn];
        for (int i = 0; i < dIn; i++) offset[i] = (float) (0.5 * r.nextGaussian());
    }

    @Override public int width() { return dIn; }

    @Override public int read(float[] dst, int rowOffset, int maxRows) {
        for (int n = 0; n < maxRows; n++, row++) {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + row);
            int o = (rowOffset + n) * dIn;
            System.arraycopy(offset, 0, dst, o, dIn);
            for (int f = 0; f < features; f++) {
                if (r.nextDouble() >= probability) continue;
                float a = (float) (1 + r.nextDouble());
                for (int i = 0; i < dIn; i++) dst[o + i] += a * directions[f * dIn + i];
            }
        }
        return maxRows;
    }

    @Override public long position() { return row; }

    @Override public void seek(long position) { row = position; }

    /** For each planted direction, the best cosine with any decoder row. */
    double[] recovery(float[] decoder, int width) {
        double[] best = new double[features];
        for (int f = 0; f < features; f++) {
            double top = -1;
            for (int w = 0; w < width; w++) {
                double dot = 0, sq = 0;
                for (int i = 0; i < dIn; i++) {
                    dot += (double) directions[f * dIn + i] * decoder[w * dIn + i];
                    sq += (double) decoder[w * dIn + i] * decoder[w * dIn + i];
                }
                if (sq > 0) top = Math.max(top, dot / Math.sqrt(sq));
            }
            best[f] = top;
        }
        return best;
    }
}
