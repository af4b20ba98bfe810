package dev.loupe.model;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ActivationCache;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.generate.TokenLoop;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.tokenizer.Tokenizers;
import dev.loupe.model.weights.Checkpoints;
import dev.loupe.model.weights.GgufCheckpoint;
import dev.loupe.model.weights.GgufFile;
import dev.loupe.model.weights.HfCheckpoint;
import dev.loupe.model.weights.ModelWeights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A Gemma family model ready to run, whichever member its config's {@link dev.loupe.model.arch.Architecture} says:
 * weights (memory-mapped), tokenizer when the checkpoint carries one, and the backend that does the heavy kernels.
 * The members differ only in data (the architecture and config), which the loaders and the one forward pass read.
 * Runs and generations take their hooks per call; nothing stays attached.
 */
public final class GemmaModel implements Model {
    private final ModelWeights weights;
    private final Tokenizer tokenizer;
    private final Backend backend;
    private final HookPoints points;

    public GemmaModel(ModelWeights weights, Tokenizer tokenizer, Backend backend) {
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.backend = backend;
        this.points = new HookPoints(weights.config().numLayers(), weights.config().architecture().blockHooks());
        backend.prepare(weights);
    }

    /** Loads an HF folder or a .gguf file, running on the Vector API CPU backend with {@code threads} threads. */
    public static GemmaModel load(Path path, int threads) { return load(path, Backends.byName(Backends.CPU, threads)); }

    /** Loads onto the backend called {@code backend} ("cpu" or "tornado", see {@link Backends#byName}) with {@code threads} threads. */
    public static GemmaModel load(Path path, String backend, int threads) { return load(path, Backends.byName(backend, threads)); }

    /** Loads with all cores. */
    public static GemmaModel load(Path path) { return load(path, Runtime.getRuntime().availableProcessors()); }

    /**
     * Loads an HF folder (config.json, safetensors, and tokenizer.json when present) or a .gguf file (weights
     * and its embedded vocabulary) onto {@code backend}; the model owns the backend from here on.
     */
    public static GemmaModel load(Path path, Backend backend) {
        try {
            if (Checkpoints.detect(path) == Checkpoints.Format.GGUF) {
                GgufFile f = Checkpoints.openGguf(path);
                try {
                    Tokenizer t = f.has("tokenizer.ggml.tokens") ? Tokenizers.fromGguf(f) : null;
                    return new GemmaModel(GgufCheckpoint.load(f), t, backend);
                } catch (IOException | RuntimeException e) {
                    f.close();
                    throw e;
                }
            }
            ModelWeights w = HfCheckpoint.load(path);
            Tokenizer t = Files.isRegularFile(path.resolve("tokenizer.json")) ? Tokenizers.load(path) : null;
            return new GemmaModel(w, t, backend);
        } catch (IOException e) {
            backend.close();
            throw new UncheckedIOException(e.getMessage(), e);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    @Override
    public ModelConfig config() { return weights.config(); }
    @Override
    public ModelWeights weights() { return weights; }
    @Override
    public Backend backend() { return backend; }
    /** The model's hook points. */
    @Override
    public HookPoints hookPoints() { return points; }

    /** The tokenizer; fails with a clear message when the checkpoint has none. */
    @Override
    public Tokenizer tokenizer() {
        if (tokenizer == null) {
            throw new BadInputException("this model has no tokenizer (an HF folder needs tokenizer.json); pass token ids instead");
        }
        return tokenizer;
    }

    @Override
    public boolean hasTokenizer() { return tokenizer != null; }

    @Override
    public Session newSession() { return new Session(this); }

    /** Runs a whole sequence (as a prompt: one batched pass) and returns logits and cached activations. */
    @Override
    public RunResult run(int[] tokens, RunOptions options) {
        ActivationCache cache = new ActivationCache();
        HookSet hooks = options.hooks().with(cache.hooksFor(options.cache()));
        BoundHooks bound = hooks.bind(points);
        if (options.stopAfterLayer() >= 0) requireCachedBeforeStop(options.cache(), options.stopAfterLayer());
        int logitRows = switch (options.logits()) {
            case ALL -> tokens.length;
            case LAST -> 1;
            case NONE -> 0;
        };
        long logitBytes = 4L * logitRows * config().vocabSize();
        if (logitBytes > Runtime.getRuntime().maxMemory() / 2) {
            throw new BadInputException(String.format("logits for all %d positions need %,d MB but the heap is %,d MB:"
                    + " ask for Logits.LAST or NONE, run shorter sequences, or raise -Xmx", logitRows, logitBytes >> 20,
                    Runtime.getRuntime().maxMemory() >> 20));
        }
        float[] logits;
        try (Session s = newSession()) {
            logits = s.process(tokens, bound, options.stopAfterLayer(), logitRows);
        }
        return new RunResult(logits, logits == null ? 0 : logitRows, tokens.length, config().vocabSize(), cache);
    }

    /** A cached hook point past the last block run would silently stay empty: refuse it before any compute. */
    private void requireCachedBeforeStop(java.util.List<String> cache, int stop) {
        for (String pattern : cache) {
            int first = Integer.MAX_VALUE;
            for (int id : points.matching(pattern)) first = Math.min(first, points.layerOf(id));
            if (first > stop) {
                throw new BadInputException("cache " + pattern + ": " + (first >= config().numLayers() ? "ln_final comes after the last block"
                        : "its hook point is in layer " + first) + " but the run stops after layer " + stop);
            }
        }
    }

    /**
     * The activation at one hook point, running only the blocks that hook needs (no logits unless it is past
     * the last block). {@code hook_embed} still runs block 0: a run always includes at least one block.
     */
    @Override
    public Activation activation(int[] tokens, String hook) {
        int layer = points.layerOf(points.id(hook));
        RunOptions options = RunOptions.caching(hook).withLogits(RunOptions.Logits.NONE);
        if (layer < config().numLayers()) options = options.stopAfter(Math.max(0, layer));
        return run(tokens, options).cache().get(hook);
    }

    /**
     * Generates after {@code prompt}: the prompt is processed in one batched pass, then one token per step.
     * Hooks fire on the prompt and on every step; {@code onToken} sees each new token as it is chosen.
     */
    @Override
    public GenerationResult generate(int[] prompt, Generation g, HookSet hooks, IntConsumer onToken) {
        // The loop owns its session; closing it gives the KV cache and buffers back to the backend.
        try (TokenLoop loop = new TokenLoop(this, prompt, g, hooks.bind(points))) {
            // The loop stops at the context length, so never allocate for more than fits in it.
            int[] out = new int[loop.capacity()];
            int count = 0;
            while (!loop.done()) {
                int next = loop.step();
                out[count++] = next;
                if (onToken != null) onToken.accept(next);
            }
            int stopped = loop.end() == TokenLoop.End.STOP && count > 0 ? out[count - 1] : -1;
            return new GenerationResult(prompt, Arrays.copyOf(out, count), stopped);
        }
    }

    @Override
    public dev.loupe.model.grad.GradientResult gradients(int[] tokens, dev.loupe.model.grad.GradientRequest request) {
        return new dev.loupe.model.forward.BackwardPass(weights, backend, points, request).run(tokens);
    }

    @Override
    public void close() {
        backend.close();
        weights.close();
    }
}
