package dev.loupe.model;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Hook;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.List;

/**
 * What one forward run does besides computing: hooks to attach, hook points to cache (names or globs),
 * where to stop, and which positions get logits.
 *
 * @param hooks          hooks attached for this run only
 * @param cache          names or globs of hook points whose activations are copied into the result's cache
 * @param stopAfterLayer last block to run; -1 runs them all (a run that stops early makes no logits)
 * @param logits         which positions get logits
 */
public record RunOptions(HookSet hooks, List<String> cache, int stopAfterLayer, Logits logits) {
    /** Logits for every position, the last one only (what generation and llama-bench need), or none. */
    public enum Logits { ALL, LAST, NONE }

    public RunOptions {
        cache = List.copyOf(cache);
    }

    public static RunOptions defaults() { return new RunOptions(HookSet.empty(), List.of(), -1, Logits.ALL); }

    /** Caches the given hook points (names or globs such as {@code blocks.*.hook_resid_post}). */
    public static RunOptions caching(String... globs) { return defaults().withCache(globs); }

    public RunOptions withCache(String... globs) {
        List<String> c = new ArrayList<>(cache);
        c.addAll(List.of(globs));
        return new RunOptions(hooks, c, stopAfterLayer, logits);
    }

    public RunOptions withHook(String nameOrGlob, Hook hook) {
        return new RunOptions(hooks.with(nameOrGlob, hook), cache, stopAfterLayer, logits);
    }

    public RunOptions withHooks(HookSet more) { return new RunOptions(hooks.with(more), cache, stopAfterLayer, logits); }

    /** Runs blocks {@code 0..layer} only (no logits). */
    public RunOptions stopAfter(int layer) {
        if (layer < 0) throw new BadInputException("stop-after layer must be >= 0, got " + layer);
        return new RunOptions(hooks, cache, layer, Logits.NONE); }

    public RunOptions withLogits(Logits l) { return new RunOptions(hooks, cache, stopAfterLayer, l); }
}
