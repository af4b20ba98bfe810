package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.Generation;
import picocli.CommandLine.Option;

/** Generation length and sampling options shared by generate and steer. */
final class SamplingOptions {
    @Option(names = "--max-tokens", paramLabel = "N", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int maxTokens = 40;

    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature = 0f;

    @Option(names = "--top-k", paramLabel = "K", description = "sample among the K most likely tokens; 0 = all (default: ${DEFAULT-VALUE})")
    int topK = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling mass; 1 = off (default: ${DEFAULT-VALUE})")
    float topP = 1f;

    @Option(names = "--seed", paramLabel = "S", description = "random seed for sampling (default: ${DEFAULT-VALUE})")
    long seed = 0;

    /** The prompt and the tokens asked for must fit the model's context (max_position_embeddings). */
    void requireWithinContext(int contextLength, int promptTokens) {
        if (maxTokens > contextLength - promptTokens) {
            throw new BadInputException("--max-tokens " + maxTokens + ": the prompt's " + promptTokens + " tokens leave room for at most "
                    + Math.max(0, contextLength - promptTokens) + " more in the model's context of " + contextLength);
        }
    }

    Generation generation() { return new Generation(maxTokens, temperature, topK, topP, seed, null); }
}
