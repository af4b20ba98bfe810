package dev.loupe.model;

import dev.loupe.errors.BadInputException;

import java.util.Set;

/**
 * How to generate: greedy (temperature 0) or sampled with temperature, top-k (0 = off) and top-p (1 = off)
 * from a seeded generator, stopping after {@code maxTokens} or at a stop token.
 *
 * @param stopTokens the ids generation stops at (the stop id is the last generated one); null: the model's eos ids,
 *                   from its generation_config.json or config.json ({@link #stopsFor})
 */
public record Generation(int maxTokens, float temperature, int topK, float topP, long seed, Set<Integer> stopTokens) {

    public Generation {
        if (maxTokens < 0) throw new BadInputException("max tokens must be >= 0, got " + maxTokens);
        // NaN fails every comparison, so test for the valid range rather than the invalid one.
        if (!(temperature >= 0 && temperature < Float.POSITIVE_INFINITY)) {
            throw new BadInputException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) throw new BadInputException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new BadInputException("top-p must be in (0, 1], got " + topP);
        stopTokens = stopTokens == null ? null : Set.copyOf(stopTokens);
    }

    /** Greedy, stopping at the model's eos ids. */
    public static Generation greedy(int maxTokens) { return new Generation(maxTokens, 0f, 0, 1f, 0L, null); }

    /** Sampled, stopping at the model's eos ids. */
    public static Generation sample(int maxTokens, float temperature, int topK, float topP, long seed) {
        return new Generation(maxTokens, temperature, topK, topP, seed, null);
    }

    /** The ids generation stops at on a model with {@code config}: the ones given, else the model's eos ids. */
    public Set<Integer> stopsFor(ModelConfig config) { return stopTokens != null ? stopTokens : Set.copyOf(config.eosIds()); }

    /** These stops where none were given (a chat adds its end-of-turn to the model's eos ids); given ones stay. */
    public Generation withDefaultStops(Set<Integer> stops) { return stopTokens != null ? this : withStops(stops); }

    public boolean greedy() { return temperature == 0f; }

    public Generation withStops(Set<Integer> stops) { return new Generation(maxTokens, temperature, topK, topP, seed, stops); }
}
