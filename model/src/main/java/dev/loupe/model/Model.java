package dev.loupe.model;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.weights.ModelWeights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A Gemma-family language model ready to run: what {@code sae}, {@code analysis}, {@code web}, {@code cli} and
 * backends see. The architecture (Gemma 1, 2, 3, ...) is a detail of the implementation and its config; code
 * above the model module names only this interface. Runs and generations take their hooks per call; nothing
 * stays attached.
 */
public interface Model extends AutoCloseable {

    /** Loads an HF folder or a .gguf file, whatever Gemma architecture it holds, onto {@code backend} (which it then owns). */
    static Model load(Path path, Backend backend) { return GemmaModel.load(path, backend); }

    /** Loads onto the Vector API CPU backend with {@code threads} threads. */
    static Model load(Path path, int threads) { return load(path, Backends.byName(Backends.CPU, threads)); }

    /** Loads onto the backend called {@code backend} ("cpu" or "tornado", see {@link Backends#byName}). */
    static Model load(Path path, String backend, int threads) { return load(path, Backends.byName(backend, threads)); }

    /** Loads with all cores. */
    static Model load(Path path) { return load(path, Runtime.getRuntime().availableProcessors()); }

    ModelConfig config();

    ModelWeights weights();

    Backend backend();

    /** The model's hook points. */
    HookPoints hookPoints();

    /**
     * The registry a run with {@code hooks} resolves names against: the model's points plus the points of the
     * composite hooks in the set (a spliced SAE's {@code <hook>.hook_sae_acts_post}, ...), for listing in a UI.
     */
    default HookPoints hookPoints(HookSet hooks) { return hooks.points(hookPoints()); }

    /** The tokenizer; fails with a clear message when the checkpoint has none. */
    Tokenizer tokenizer();

    boolean hasTokenizer();

    /** A new sequence: its own KV cache, fed a prompt and then one token at a time. */
    Session newSession();

    /** Runs a whole sequence (as a prompt: one batched pass) and returns logits and cached activations. */
    RunResult run(int[] tokens, RunOptions options);

    /** Tokenizes (with {@code <bos>}) and runs. */
    default RunResult run(String text, RunOptions options) { return run(tokenizer().encode(text), options); }

    /** The activation at one hook point, running only the blocks that hook needs. */
    Activation activation(int[] tokens, String hook);

    /**
     * The gradient of {@code request}'s metric over {@code tokens} (run as one prompt) at the hook points it captures
     * and, when asked, at every weight; forward hooks in the request are differentiated through.
     */
    default dev.loupe.model.grad.GradientResult gradients(int[] tokens, dev.loupe.model.grad.GradientRequest request) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no backward pass yet");
    }

    /**
     * Generates after {@code prompt}: the prompt is processed in one batched pass, then one token per step.
     * Hooks fire on the prompt and on every step; {@code onToken} sees each new token as it is chosen.
     */
    GenerationResult generate(int[] prompt, Generation g, HookSet hooks, IntConsumer onToken);

    /** Tokenizes {@code prompt} (with {@code <bos>}) and generates; {@code result.text(model.tokenizer())} reads it. */
    default GenerationResult generate(String prompt, Generation g, HookSet hooks) {
        return generate(tokenizer().encode(prompt), g, hooks, null);
    }

    /** Tokenizes (with {@code <bos>}) and generates without hooks. */
    default GenerationResult generate(String prompt, Generation g) { return generate(prompt, g, HookSet.empty()); }

    /** The generated text after {@code prompt} under {@code hooks} (special tokens left out): a notebook's one-liner. */
    default String complete(String prompt, Generation g, HookSet hooks) { return generate(prompt, g, hooks).text(tokenizer()); }

    /** The generated text after {@code prompt}, without hooks. */
    default String complete(String prompt, Generation g) { return complete(prompt, g, HookSet.empty()); }

    /** How each token shows on its own ({@link Tokenizer#tokenText}), e.g. to label plots and tables. */
    default List<String> tokenTexts(int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) out.add(tokenizer().tokenText(id));
        return out;
    }

    @Override
    void close();
}
