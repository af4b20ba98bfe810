package dev.loupe.model.generate;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.Generation;
import dev.loupe.model.Model;
import dev.loupe.model.Session;

import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The one generation loop: the prompt in one batched pass, then one token per step, sampled from the logits, until
 * a stop token, {@code maxTokens} or the context length. {@link Model#generate} runs it to the end; the server
 * advances it a token at a time, so that it can interleave two continuations on one work slot, stream each token
 * and stop between tokens. Hooks fire on the prompt and on every step. Not thread-safe.
 */
public final class TokenLoop implements AutoCloseable {
    /** Why a generation ended. */
    public enum End {
        /** A stop token, or {@link #stop()} (a stop string matched). */
        STOP,
        /** {@code maxTokens} or the context length. */
        LENGTH
    }

    private final Model model;
    private final int[] prompt;
    private final Generation generation;
    private final Set<Integer> stops;
    private final BoundHooks hooks;
    private final Session session;
    private final Sampler sampler;
    private UnaryOperator<float[]> logitTransform = UnaryOperator.identity();
    private int count;
    private int last = -1;
    private End end;
    private float[] lastLogits;

    public TokenLoop(Model model, int[] prompt, Generation generation, BoundHooks hooks) {
        if (prompt.length == 0) throw new BadInputException("generation needs at least one prompt token (<bos>)");
        this.model = model;
        this.prompt = prompt;
        this.generation = generation;
        this.hooks = hooks;
        this.session = model.newSession();
        this.sampler = new Sampler(generation);
        this.stops = generation.stopsFor(model.config());
        if (generation.maxTokens() == 0) end = End.LENGTH;
    }

    /**
     * Applies {@code transform} to each step's logits before sampling (a frequency penalty, say); the logits
     * {@link #lastLogits()} returns stay the model's own.
     */
    public TokenLoop withLogitTransform(UnaryOperator<float[]> transform) {
        if (count > 0) throw new IllegalStateException("set the logit transform before the first step");
        this.logitTransform = transform;
        return this;
    }

    public boolean done() { return end != null; }

    /** Why the generation ended, or null while it runs. */
    public End end() { return end; }

    public int[] prompt() { return prompt; }

    /** Tokens generated so far. */
    public int count() { return count; }

    /** The most tokens this generation can produce: {@code maxTokens}, or fewer when the context ends first. */
    public int capacity() {
        return Math.max(0, Math.min(generation.maxTokens(), model.config().maxPositions() - prompt.length + 1));
    }

    /** Runs one forward step and returns the next token; the first call processes the whole prompt. */
    public int step() {
        if (end != null) throw new IllegalStateException("generation already finished");
        float[] logits = last < 0 ? session.process(prompt, hooks, -1, 1) : session.process(new int[]{last}, hooks, -1, 1);
        lastLogits = logits;
        int next = sampler.next(logitTransform.apply(logits));
        count++;
        last = next;
        if (stops.contains(next)) end = End.STOP;
        else if (count >= generation.maxTokens() || session.position() >= model.config().maxPositions()) end = End.LENGTH;
        return next;
    }

    /** The logits the last {@link #step} chose its token from (the model's own, before any transform, temperature and truncation). */
    public float[] lastLogits() { return lastLogits; }

    /** Ends the generation early (a stop string matched). */
    public void stop() { end = End.STOP; }

    /**
     * Runs the last generated token through the blocks up to {@code layer} without making logits, so that hooks
     * at or before that layer see it (a generated token is otherwise only processed when the next one is chosen).
     */
    public void processLast(int layer) {
        if (last < 0) return;
        session.process(new int[]{last}, hooks, layer, 0);
        last = -1;
    }

    /** Gives the session's KV cache and buffers back to the backend; the loop is unusable afterwards. */
    @Override
    public void close() { session.close(); }
}
