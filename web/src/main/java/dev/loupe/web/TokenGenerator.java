package dev.loupe.web;

import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;
import dev.loupe.model.Session;
import dev.loupe.model.generate.Sampler;

/**
 * One generation advanced a token at a time, so that a request can interleave two continuations (default and
 * steered) on one work slot, stream each token as it comes, and stop between tokens when the client leaves or
 * the deadline passes. Does what {@link Model#generate} does, one step per call.
 */
final class TokenGenerator {
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
    private final int[] prompt;
    private final Generation generation;
    private final java.util.Set<Integer> stops;
    private final BoundHooks hooks;
    private final Session session;
    private final Sampler sampler;
    private int count;
    private int last = -1;
    private Finish finish;
    private float[] lastLogits;
    private float frequencyPenalty;
    private int[] counts;

    TokenGenerator(Model model, int[] prompt, Generation generation, HookSet hooks) {
        if (prompt.length == 0) throw ApiException.badRequest("the prompt is empty");
        this.model = model;
        this.prompt = prompt;
        this.generation = generation;
        this.hooks = hooks.bind(model.hookPoints());
        this.session = model.newSession();
        this.sampler = new Sampler(generation);
        this.stops = generation.stopsFor(model.config());
        if (generation.maxTokens() == 0) finish = Finish.LENGTH;
    }

    boolean done() { return finish != null; }

    Finish finish() { return finish; }

    int promptLength() { return prompt.length; }

    /** Tokens generated so far. */
    int count() { return count; }

    /** Runs one forward step and returns the next token; the first call processes the whole prompt. */
    int step() {
        if (finish != null) throw new IllegalStateException("generation already finished");
        float[] logits = last < 0 ? session.process(prompt, hooks, -1, 1) : session.process(new int[]{last}, hooks, -1, 1);
        lastLogits = logits;
        int next = sampler.next(frequencyPenalty == 0 ? logits : penalized(logits));
        if (counts != null) counts[next]++;
        count++;
        last = next;
        if (stops.contains(next)) finish = Finish.STOP;
        else if (count >= generation.maxTokens() || session.position() >= model.config().maxPositions()) finish = Finish.LENGTH;
        return next;
    }

    /**
     * Samples with TransformerLens's frequency penalty (what Neuronpedia's {@code freqPenalty} sets): each logit is
     * lowered by {@code penalty ×} the number of times its token occurs in the sequence so far, prompt included.
     */
    TokenGenerator withFrequencyPenalty(float penalty) {
        if (count > 0) throw new IllegalStateException("set the penalty before the first step");
        frequencyPenalty = penalty;
        if (penalty != 0) {
            counts = new int[model.config().vocabSize()];
            for (int id : prompt) if (id >= 0 && id < counts.length) counts[id]++;
        }
        return this;
    }

    private float[] penalized(float[] logits) {
        float[] out = logits.clone();
        for (int i = 0; i < out.length && i < counts.length; i++) if (counts[i] != 0) out[i] -= frequencyPenalty * counts[i];
        return out;
    }

    /** The logits the last {@link #step} chose its token from (the model's own, before temperature and truncation). */
    float[] lastLogits() { return lastLogits; }

    /** Ends the generation early (a stop string matched). */
    void stop() { finish = Finish.STOP; }

    /**
     * Runs the last generated token through the blocks up to {@code layer} without making logits, so that hooks
     * at or before that layer see it (the activation plot needs the activation at every generated token, and a
     * generated token is otherwise only processed when the next one is chosen).
     */
    void processLast(int layer) {
        if (last < 0) return;
        session.process(new int[]{last}, hooks, layer, 0);
        last = -1;
    }
}
