package dev.loupe.model.bench;

import dev.loupe.model.Generation;
import dev.loupe.model.generate.Sampler;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Time per sampled token on a 256k vocabulary (Gemma's), against arg-max: {@code mvn -pl model test-compile}, then
 * {@code java --add-modules jdk.incubator.vector -cp model/target/classes:model/target/test-classes dev.loupe.model.bench.SamplerBench}.
 * Not a test: throughput belongs in BENCHMARKS.md.
 */
public final class SamplerBench {
    private SamplerBench() {}

    public static void main(String[] args) {
        int vocab = 256_000, steps = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Random rnd = new Random(1);
        float[][] logits = new float[16][vocab];
        for (float[] l : logits) for (int i = 0; i < vocab; i++) l[i] = (float) rnd.nextGaussian() * 3f;
        Generation[] kinds = {Generation.greedy(1), Generation.sample(1, 1f, 0, 1f, 1), Generation.sample(1, 0.8f, 40, 0.95f, 1),
                Generation.sample(1, 1f, 0, 0.9f, 1)};
        for (Generation g : kinds) {
            Sampler s = new Sampler(g);
            double[] ms = new double[steps];
            int sink = 0;
            for (int i = 0; i < steps + 50; i++) {
                long t = System.nanoTime();
                sink += s.next(logits[i % logits.length]);
                if (i >= 50) ms[i - 50] = (System.nanoTime() - t) / 1e6;
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "temperature %.1f top-k %d top-p %.2f: median %.3f ms per token (%d)%n",
                    g.temperature(), g.topK(), g.topP(), ms[steps / 2], sink % 2);
        }
    }
}
