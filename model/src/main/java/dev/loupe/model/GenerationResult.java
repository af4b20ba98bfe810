package dev.loupe.model;

/**
 * What a generation produced.
 *
 * @param prompt    the prompt's token ids
 * @param generated the new token ids (a stop token, when hit, is included)
 * @param stoppedAt the stop token that ended it, or -1 when it ran to max tokens or the context length
 */
public record GenerationResult(int[] prompt, int[] generated, int stoppedAt) {
    /** The generated text, special tokens (such as the stop token) left out. */
    public String text(dev.loupe.model.tokenizer.Tokenizer tokenizer) { return tokenizer.decode(generated, true); }
}
