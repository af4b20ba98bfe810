package dev.loupe.web;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Intervention;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeCompatibility;
import dev.loupe.sae.SparseFeatures;
import dev.loupe.sae.Steering;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The model and SAE behind the live pages and {@code /v1}: tokenizing within the limits, prompt inspection,
 * search via inference, and generation with interventions. Thread-safe: each call makes its own session; the
 * CPU backend serializes kernels between concurrent calls.
 */
final class LiveModel implements AutoCloseable {
    private final Model model;
    private final Sae sae;
    private final Path modelPath;
    private final Limits limits;
    private final int hookLayer;

    LiveModel(Model model, Sae sae, Path modelPath, Limits limits) {
        if (!model.hasTokenizer()) {
            throw new BadInputException(modelPath + ": the model has no tokenizer (an HF folder needs tokenizer.json); the live pages need one");
        }
        SaeCompatibility.require(sae, model);
        this.model = model;
        this.sae = sae;
        this.modelPath = modelPath;
        this.limits = limits;
        this.hookLayer = model.hookPoints().layerOf(model.hookPoints().id(sae.hookName()));
    }

    Model model() { return model; }

    /** A chat's stops: the model's eos ids and the turn end. */
    java.util.Set<Integer> chatStops() {
        return dev.loupe.model.tokenizer.ChatTemplate.stops(model.tokenizer(), model.config().eosIds());
    }

    Sae sae() { return sae; }

    Tokenizer tokenizer() { return model.tokenizer(); }

    String modelName() { return modelPath.getFileName() == null ? modelPath.toString() : modelPath.getFileName().toString(); }

    String hook() { return sae.hookName(); }

    int dSae() { return sae.dSae(); }

    // ---- prompts ---------------------------------------------------------------------------------------

    /** Plain text with {@code <bos>}, within the prompt limit. */
    int[] encode(String text, String field) {
        if (text.isEmpty()) throw ApiException.badRequest("'" + field + "' is empty", field);
        checkChars(text, field);
        return checkTokens(tokenizer().encode(text), field);
    }

    /** A conversation in Gemma's chat format, ready for the model's turn. */
    int[] encodeChat(List<ChatTemplate.Turn> turns, String field) {
        for (ChatTemplate.Turn t : turns) checkChars(t.text(), field);
        String rendered;
        try {
            rendered = ChatTemplate.render(turns, true);
        } catch (BadInputException e) {
            throw ApiException.badRequest(e.getMessage(), field);
        }
        return checkTokens(tokenizer().encode(rendered, false), field);
    }

    /** An array of token ids, each in the vocabulary, within the prompt limit. */
    int[] tokenIds(com.fasterxml.jackson.databind.JsonNode list, String field) {
        if (list == null || !list.isArray() || list.isEmpty()) throw ApiException.badRequest("'" + field + "' must be a non-empty array of token ids", field);
        if (list.size() > limits.maxPromptTokens()) {
            throw ApiException.tooLarge("'" + field + "' holds " + list.size() + " tokens; the server takes prompts of at most " + limits.maxPromptTokens() + " tokens", field);
        }
        int vocab = model.config().vocabSize();
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = Json.toInt(list.get(i), field + "[" + i + "]", 0, vocab - 1);
        return ids;
    }

    private void checkChars(String text, String field) {
        // Cheap guard before tokenizing: no tokenizer makes fewer tokens than a tenth of the characters.
        if (text.length() > 10L * limits.maxPromptTokens()) {
            throw ApiException.tooLarge("'" + field + "' is " + text.length() + " characters; the server takes prompts of at most "
                    + limits.maxPromptTokens() + " tokens", field);
        }
    }

    private int[] checkTokens(int[] ids, String field) {
        if (ids.length > limits.maxPromptTokens()) {
            throw ApiException.tooLarge("'" + field + "' is " + ids.length + " tokens; the server takes prompts of at most "
                    + limits.maxPromptTokens() + " tokens", field);
        }
        return ids;
    }

    void checkFeature(int f, String field) {
        if (f < 0 || f >= sae.dSae()) throw ApiException.notFound("feature " + f + " does not exist: the SAE has features 0.." + (sae.dSae() - 1) + " ('" + field + "')");
    }

    // ---- inspection ------------------------------------------------------------------------------------

    /** One feature's value at a token. */
    record FeatureValue(int feature, float activation) {}

    /** A token of an inspected text: its top features and, when asked, one chosen feature's activation. */
    record InspectedToken(int index, int id, String text, Float value, List<FeatureValue> top) {}

    record Inspection(String hook, Integer feature, List<InspectedToken> tokens) {}

    /** Encodes {@code ids} at the SAE's hook point: features of every position. */
    SparseFeatures features(int[] ids) {
        Activation a = model.activation(ids, sae.hookName());
        return sae.encode(a);
    }

    Inspection inspect(int[] ids, int topK, Integer feature) {
        SparseFeatures f = features(ids);
        Tokenizer tok = tokenizer();
        List<InspectedToken> out = new ArrayList<>(ids.length);
        for (int p = 0; p < ids.length; p++) {
            List<FeatureValue> top = f.topK(p, topK).stream().map(x -> new FeatureValue(x.id(), x.value())).toList();
            out.add(new InspectedToken(p, ids[p], tok.tokenText(ids[p]), feature == null ? null : f.get(p, feature), top));
        }
        return new Inspection(sae.hookName(), feature, out);
    }

    // ---- generation ------------------------------------------------------------------------------------

    /**
     * The hooks that carry out {@code steer} on {@code prompt} (empty for none), by the library's one mapping
     * ({@link Intervention#hooks}); without {@code steer_special_tokens} the prompt's special tokens are left alone.
     */
    HookSet steeringHooks(Requests.Steer steer, int[] prompt) {
        BitSet skipped = steer.steerSpecialTokens() ? new BitSet() : Steering.positionsOf(prompt, tokenizer()::isSpecial);
        return Intervention.hooks(sae, steer.interventions(), new Intervention.Options(steer.strengthMultiplier(), steer.normalize(), skipped, 0));
    }

    /** A generation of {@code prompt} with {@code hooks}, and a probe reading {@code probed} features after them. */
    TokenGenerator generator(int[] prompt, Generation g, HookSet hooks, FeatureProbe probe) {
        HookSet all = probe == null ? hooks : hooks.with(sae.hookName(), probe);
        return new TokenGenerator(model, prompt, g, all);
    }

    FeatureProbe probe(int[] features) { return new FeatureProbe(sae, features); }

    /** The block whose output the SAE reads: the last one a probe needs to see a token. */
    int hookLayer() { return hookLayer; }

    /**
     * Runs a short chat prompt through the model and the SAE and generates a few tokens, so that the JIT compiles
     * the kernels before the first request rather than during it: on a fresh JVM the first request's passes ran
     * about 100 times slower (a 4-token chat answer took 22 s on the tiny test model, then 0.2 s).
     *
     * @return how long it took
     */
    java.time.Duration warmUp() {
        long t0 = System.nanoTime();
        int[] ids = encodeChat(List.of(ChatTemplate.Turn.user("Hello, how are you today?")), "warm-up");
        inspect(ids, 1, null);
        try (TokenGenerator g = generator(ids, Generation.greedy(4).withStops(java.util.Set.of()), HookSet.empty(), null)) {
            while (!g.done()) g.step();
        }
        return java.time.Duration.ofNanos(System.nanoTime() - t0);
    }

    @Override public void close() {
        try (model; sae) {
            // both closed
        }
    }
}
