package dev.loupe.web;

import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.Model;
import dev.loupe.model.generate.TokenLoop;

/**
 * One generation advanced a token at a time, so that a request can interleave two continuations (default and
 * steered) on one work slot, stream each token as it comes, and stop between tokens when the client leaves or
 * the deadline passes: the model's {@link TokenLoop} (the loop behind {@link Model#generate}) with OpenAI's finish
 * names and the frequency penalty.
 */
final class TokenGenerator implements AutoCloseable {
    /** Why a generation ended, with OpenAI's names. */
    enum Finish {
        /** A stop token or stop string. */
        STOP("stop"),
        /** {@code max_tokens} or the context length. */
        LENGTH("length");

        final String openAiName;

        Finish(String openAiName) { this.openAiName = openAiName; }
    }

    private final Model model;
    private final TokenLoop loop;
    private float frequencyPenalty;
    private int[] counts;

    TokenGenerator(Model model, int[] prompt, Generation generation, HookSet hooks) {
        if (prompt.length == 0) throw ApiException.badRequest("the prompt is empty");
        this.model = model;
        this.loop = new TokenLoop(model, prompt, generation, hooks.bind(model.hookPoints()));
    }

    boolean done() { return loop.done(); }

    /** Gives the generation's KV cache and buffers back to the backend (device memory on a device backend). */
    @Override
    public void close() { loop.close(); }

    Finish finish() {
        return loop.end() == null ? null : loop.end() == TokenLoop.End.STOP ? Finish.STOP : Finish.LENGTH;
    }

    int promptLength() { return loop.prompt().length; }

    /** Tokens generated so far. */
    int count() { return loop.count(); }

    /** Runs one forward step and returns the next token; the first call processes the whole prompt. */
    int step() {
        int next = loop.step();
        if (counts != null) counts[next]++;
        return next;
    }

    /**
     * Samples with TransformerLens's frequency penalty (what Neuronpedia's {@code freqPenalty} sets): each logit is
     * lowered by {@code penalty ×} the number of times its token occurs in the sequence so far, prompt included.
     */
    TokenGenerator withFrequencyPenalty(float penalty) {
        if (loop.count() > 0) throw new IllegalStateException("set the penalty before the first step");
        frequencyPenalty = penalty;
        if (penalty != 0) {
            counts = new int[model.config().vocabSize()];
            for (int id : loop.prompt()) if (id >= 0 && id < counts.length) counts[id]++;
            loop.withLogitTransform(this::penalized);
        }
        return this;
    }

    private float[] penalized(float[] logits) {
        float[] out = logits.clone();
        for (int i = 0; i < out.length && i < counts.length; i++) if (counts[i] != 0) out[i] -= frequencyPenalty * counts[i];
        return out;
    }

    /** The logits the last {@link #step} chose its token from (the model's own, before temperature and truncation). */
    float[] lastLogits() { return loop.lastLogits(); }

    /** Ends the generation early (a stop string matched). */
    void stop() { loop.stop(); }

    /**
     * Runs the last generated token through the blocks up to {@code layer} without making logits, so that hooks
     * at or before that layer see it (the activation plot needs the activation at every generated token, and a
     * generated token is otherwise only processed when the next one is chosen).
     */
    void processLast(int layer) { loop.processLast(layer); }
}
