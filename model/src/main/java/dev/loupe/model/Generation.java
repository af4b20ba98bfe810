package dev.loupe.model;

import java.util.Set;

/**
 * How to generate: greedy (temperature 0) or sampled with temperature, top-k (0 = off) and top-p (1 = off)
 * from a seeded generator, stopping after {@code maxTokens} or at a stop token.
 */
public record Generation(int maxTokens, float temperature, int topK, float topP, long seed, Set<Integer> stopTokens) {
    /** {@code <eos>} and {@code <end_of_turn>}. */
    public static final Set<Integer> GEMMA_STOPS = Set.of(1, 107);

    public Generation {
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        // NaN fails every comparison, so test for the valid range rather than the invalid one.
        if (!(temperature >= 0 && temperature < Float.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        stopTokens = Set.copyOf(stopTokens);
    }

    public static Generation greedy(int maxTokens) { return new Generation(maxTokens, 0f, 0, 1f, 0L, GEMMA_STOPS); }

    public static Generation sample(int maxTokens, float temperature, int topK, float topP, long seed) {
        return new Generation(maxTokens, temperature, topK, topP, seed, GEMMA_STOPS);
    }

    public boolean greedy() { return temperature == 0f; }

    public Generation withStops(Set<Integer> stops) { return new Generation(maxTokens, temperature, topK, topP, seed, stops); }
}
