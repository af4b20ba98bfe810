package dev.loupe.model;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.forward.ForwardPass;
import dev.loupe.model.forward.KvCache;

/**
 * One sequence being processed: its KV cache and working buffers. Feed a prompt, then one token at a
 * time; each call continues where the last one stopped. Not thread-safe; make one session per sequence.
 * Close it when done: on a device backend its KV cache and working buffers are device memory, which the Java
 * collector does not reclaim.
 */
public final class Session implements AutoCloseable {
    private final GemmaModel model;
    private final KvCache cache;
    private final ForwardPass pass;

    Session(GemmaModel model) {
        this.model = model;
        this.cache = new KvCache(model.config(), model.backend());
        this.pass = new ForwardPass(model.weights(), model.backend(), model.hookPoints());
    }

    /** Positions processed so far. */
    public int position() { return cache.length(); }

    /**
     * Runs {@code tokens} at the next positions.
     *
     * @param logitRows logits are made for the last this-many positions of the chunk (0 for none)
     * @return logits {@code [logitRows, vocab]}, or null when none were asked for or the run stopped early
     */
    public float[] process(int[] tokens, BoundHooks hooks, int stopAfterLayer, int logitRows) {
        int stop = stopAfterLayer < 0 ? model.config().numLayers() - 1 : stopAfterLayer;
        if (stop >= model.config().numLayers()) {
            throw new BadInputException("stop-after layer " + stopAfterLayer + " but the model has "
                    + model.config().numLayers() + " layers (0.." + (model.config().numLayers() - 1) + ")");
        }
        try {
            return pass.forward(cache, tokens, hooks, stop, logitRows);
        } catch (InternalError e) {
            // How the JVM reports a fault in a memory-mapped file: the checkpoint was truncated or replaced under us.
            if (!String.valueOf(e.getMessage()).contains("unsafe memory access")) throw e;
            java.nio.file.Path file = model.weights().embedding().source();
            String m = (file == null ? "a weight file" : file + " (or another weight file of this model)")
                    + " was truncated or replaced while the model was reading it";
            throw new java.io.UncheckedIOException(m, new java.io.IOException(m, e));
        }
    }

    /** Forgets positions from {@code length} on. */
    public void rewind(int length) { cache.truncate(length); }

    /** Gives the KV cache and working buffers back to the backend; the session is unusable afterwards. */
    @Override
    public void close() {
        pass.release();
        cache.release();
    }
}
