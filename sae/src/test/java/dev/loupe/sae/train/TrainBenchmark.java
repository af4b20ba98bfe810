package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * SAE training throughput without the model: a JumpReLU SAE trained on synthetic activations (a sparse mix of
 * random directions plus noise, so features fire at a realistic L0), timed after warm-up steps.
 * {@code java ... dev.loupe.sae.train.TrainBenchmark D_IN WIDTH L0 BATCH STEPS THREADS} (a tool beside the tests, outside the
 * production packages; BENCHMARKS.md has the command line).
 */
public final class TrainBenchmark {
    private TrainBenchmark() {}

    public static void main(String[] args) throws Exception {
        int dIn = Integer.parseInt(args[0]), width = Integer.parseInt(args[1]);
        double l0 = Double.parseDouble(args[2]);
        int batch = Integer.parseInt(args[3]), steps = Integer.parseInt(args[4]), threads = Integer.parseInt(args[5]);
        int warm = 2;
        long tokens = (long) batch * (steps + warm);
        TrainOptions o = TrainOptions.defaults(new Sparsity.JumpRelu(l0, 0.05f), width, tokens).withBatchSize(batch);
        long[] started = new long[2];
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        try (Backend backend = Backends.byName(Backends.CPU, threads)) {
            SaeTrainer trainer = new SaeTrainer(o, new Gaussian(dIn, 4096, 20), backend, null);
            SaeTrainer.Result r = trainer.run(p -> {
                if (p.step() == warm) {
                    started[0] = System.nanoTime();
                    started[1] = os.getProcessCpuTime();
                }
                System.out.printf(Locale.ROOT, "step %d: L0 %.1f, explained variance %.3f%n", p.step(), p.stats().l0(), p.stats().explainedVariance());
            });
            double seconds = (System.nanoTime() - started[0]) / 1e9;
            double cpu = (os.getProcessCpuTime() - started[1]) / 1e9;
            double[] phases = r.sae().phaseSeconds();
            System.out.printf(Locale.ROOT, "%d × %d JumpReLU, batch %d, %d threads: %.0f tokens/s wall over %d timed steps (L0 %.1f); "
                            + "%.1f CPU-s, i.e. %.0f tokens/s if the %d threads had their cores to themselves%n",
                    dIn, width, batch, threads, (double) batch * steps / seconds, steps, r.lastStats().l0(), cpu,
                    (double) batch * steps / (cpu / threads), threads);
            System.out.printf(Locale.ROOT, "phases over all %d steps (wall s): encode+select %.2f, decode+activation gradients %.2f, "
                    + "parameter gradients %.2f (the rest of a step: Adam, unit norm)%n", steps + warm, phases[0], phases[1], phases[2]);
        }
    }

    /** Rows mixing {@code active} of {@code directions} random directions with Gaussian noise. */
    private record Gaussian(int dIn, int directions, int active, float[] dirs, long[] row) implements ActivationSource {
        Gaussian(int dIn, int directions, int active) {
            this(dIn, directions, active, random(dIn, directions), new long[1]);
        }

        static float[] random(int d, int n) {
            SplittableRandom r = new SplittableRandom(1);
            float[] v = new float[d * n];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() / Math.sqrt(d));
            return v;
        }

        @Override public int width() { return dIn; }

        @Override public int read(float[] dst, int rowOffset, int maxRows) {
            for (int n = 0; n < maxRows; n++) {
                SplittableRandom r = new SplittableRandom(row[0]++);
                int o = (rowOffset + n) * dIn;
                for (int i = 0; i < dIn; i++) dst[o + i] = (float) (0.1 * r.nextGaussian());
                for (int a = 0; a < active; a++) {
                    int f = r.nextInt(directions);
                    float s = (float) (1 + r.nextDouble());
                    for (int i = 0; i < dIn; i++) dst[o + i] += s * dirs[f * dIn + i];
                }
            }
            return maxRows;
        }

        @Override public long position() { return row[0]; }

        @Override public void seek(long position) { row[0] = position; }
    }
}
