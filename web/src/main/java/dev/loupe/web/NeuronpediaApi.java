package dev.loupe.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.analysis.export.NeuronpediaSource;
import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;
import dev.loupe.sae.Intervention;
import dev.loupe.sae.Steering;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Neuronpedia's inference-server API ({@code apps/inference/openapi.json} of hijohnnylin/neuronpedia) for the model
 * and SAE this server runs, under {@link #PREFIX}: point a self-hosted Neuronpedia's inference URL at
 * {@code http://HOST:PORT/neuronpedia}. Served: {@code GET /health}, and under {@code /v1}: {@code activation/all},
 * {@code activation/single} (a feature, or a raw vector at a hook), {@code activation/topk-by-token},
 * {@code tokenize}, {@code steer/completion}, {@code steer/completion-chat} and {@code util/sae-vector}.
 *
 * <p>The SAE's Neuronpedia source id is {@code LAYER-SET}, e.g. {@code 20-gemmascope-res-16k}: the set is
 * {@code gemmascope-res-16k} style for a Gemma Scope SAE (found in its path), {@code loupe-res-256} style
 * otherwise ({@link NeuronpediaSource}). Bodies and errors use Neuronpedia's shapes: camelCase fields, a malformed body is
 * a 422 {@code {"detail": [{"loc", "msg", "type"}]}} as FastAPI writes it, a request the server cannot carry out a
 * 400 {@code {"error": "..."}}. The {@code model} field is accepted whatever it names, as {@code /v1} does.
 */
final class NeuronpediaApi {
    static final String PREFIX = "/neuronpedia";
    static final int MAX_NUM_RESULTS = 1000;
    static final int DEFAULT_NUM_RESULTS = 25;
    static final int DEFAULT_TOP_K = 5;
    static final int MAX_LOGPROBS = 10;

    /** camelCase and no nulls: Neuronpedia's wire format (pydantic with aliases, exclude_none). */
    static final ObjectMapper CAMEL = JsonMapper.builder().serializationInclusion(JsonInclude.Include.NON_NULL).build();

    private final LiveModel live;
    private final WorkQueue queue;
    private final Limits limits;
    private final String sourceSet;
    private final String source;

    NeuronpediaApi(LiveModel live, WorkQueue queue, Limits limits) {
        this.live = live;
        this.queue = queue;
        this.limits = limits;
        NeuronpediaSource id = NeuronpediaSource.of(live.hook(), live.dSae(), live.sae().config().source());
        this.sourceSet = id.set();
        this.source = id.id();
    }

    /** The source id of the served SAE, e.g. {@code 20-gemmascope-res-16k}. */
    String source() { return source; }

    /** A failure in Neuronpedia's shape. */
    static final class Failure extends RuntimeException {
        final int status;
        final transient Object body;

        Failure(int status, Object body, String message) {
            super(message, null, false, false);
            this.status = status;
            this.body = body;
        }

        /** A 400 {@code {"error": message}}, as the inference server answers a request it cannot carry out. */
        static Failure error(String message) { return new Failure(400, Map.of("error", message), message); }

        /** A 422 in FastAPI's validation shape. */
        static Failure invalid(String field, String message, String type) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("loc", List.of("body", field));
            d.put("msg", message);
            d.put("type", type);
            return new Failure(422, Map.of("detail", List.of(d)), field + ": " + message);
        }

        void write(Context ctx) {
            ctx.status(status).contentType("application/json").result(json(body));
        }
    }

    static String json(Object o) {
        try {
            return CAMEL.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Registers the routes; {@code api} null (no model) answers each with a 400 saying so. */
    static void register(RoutesConfig routes, NeuronpediaApi api, Limits limits) {
        routes.get(PREFIX + "/health", ctx -> ctx.contentType("application/json").result("{\"status\":\"ok\"}"));
        Map<String, LoupeServer.LiveHandler> posts = new LinkedHashMap<>();
        posts.put("/v1/activation/all", api == null ? null : api::activationAll);
        posts.put("/v1/activation/single", api == null ? null : api::activationSingle);
        posts.put("/v1/activation/topk-by-token", api == null ? null : api::topkByToken);
        posts.put("/v1/tokenize", api == null ? null : api::tokenize);
        posts.put("/v1/steer/completion", api == null ? null : api::steerCompletion);
        posts.put("/v1/steer/completion-chat", api == null ? null : api::steerCompletionChat);
        posts.put("/v1/util/sae-vector", api == null ? null : api::saeVector);
        posts.forEach((path, handler) -> routes.post(PREFIX + path, ctx -> {
            try {
                if (handler == null) throw Failure.error(LoupeServer.NO_MODEL);
                handler.handle(ctx, System.nanoTime() + limits.requestTimeout().toNanos());
            } catch (ApiException e) {
                if (e.retryAfterSeconds() > 0) ctx.header("Retry-After", String.valueOf(e.retryAfterSeconds()));
                throw new Failure(e.status(), Map.of("error", e.getMessage()), e.getMessage());
            } catch (BadInputException e) {
                throw Failure.error(e.getMessage());
            }
        }));
        routes.exception(Failure.class, (e, ctx) -> {
            if (!ctx.res().isCommitted()) e.write(ctx);
        });
    }

    private void requireSource(String s, String field) {
        if (!source.equals(s)) throw Failure.error("'" + field + "': source \"" + s + "\" is not loaded: this server has " + source);
    }

    // ---- request fields --------------------------------------------------------------------------------

    private static ObjectNode body(Context ctx) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(ctx.body());
        } catch (Exception e) {
            throw new Failure(422, Map.of("detail", List.of(Map.of("loc", List.of("body"), "msg", "JSON decode error", "type", "json_invalid"))), "bad JSON");
        }
        if (n == null || !n.isObject()) throw Failure.invalid("body", "Input should be a valid dictionary", "dict_type");
        return (ObjectNode) n;
    }

    private static JsonNode field(ObjectNode b, String f, boolean required) {
        JsonNode n = b.get(f);
        if (n == null || n.isNull()) {
            if (required) throw Failure.invalid(f, "Field required", "missing");
            return null;
        }
        return n;
    }

    private static String string(ObjectNode b, String f, boolean required) {
        JsonNode n = field(b, f, required);
        if (n == null) return null;
        if (!n.isTextual()) throw Failure.invalid(f, "Input should be a valid string", "string_type");
        return n.textValue();
    }

    private static Boolean bool(ObjectNode b, String f, boolean required) {
        JsonNode n = field(b, f, required);
        if (n == null) return null;
        if (!n.isBoolean()) throw Failure.invalid(f, "Input should be a valid boolean", "bool_type");
        return n.booleanValue();
    }

    private static Double number(ObjectNode b, String f, boolean required) {
        JsonNode n = field(b, f, required);
        if (n == null) return null;
        if (!n.isNumber() || !Double.isFinite(n.doubleValue())) throw Failure.invalid(f, "Input should be a finite number", "float_type");
        return n.doubleValue();
    }

    private static Integer integer(ObjectNode b, String f, boolean required, long min, long max) {
        JsonNode n = field(b, f, required);
        if (n == null) return null;
        if (!n.isNumber() || n.doubleValue() != Math.rint(n.doubleValue())) throw Failure.invalid(f, "Input should be a valid integer", "int_type");
        double v = n.doubleValue();
        if (v < min || v > max) throw Failure.invalid(f, "Input should be between " + min + " and " + max, "less_than_equal");
        return (int) v;
    }

    private static List<JsonNode> array(ObjectNode b, String f, boolean required) {
        JsonNode n = field(b, f, required);
        if (n == null) return null;
        if (!n.isArray()) throw Failure.invalid(f, "Input should be a valid list", "list_type");
        List<JsonNode> out = new ArrayList<>();
        n.forEach(out::add);
        return out;
    }

    // ---- prompts ---------------------------------------------------------------------------------------

    /** The prompt's tokens with {@code <bos>} in front (written out in the prompt or not), as Neuronpedia's server does. */
    private int[] promptIds(String prompt) {
        Tokenizer tok = live.tokenizer();
        String bos = tok.piece(tok.bosId());
        String text = prompt.startsWith(bos) ? prompt.substring(bos.length()) : prompt;
        if (text.isEmpty()) return new int[]{tok.bosId()};
        return live.encode(text, "prompt");
    }

    private List<String> strings(int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) out.add(Logprobs.text(live.tokenizer(), id));
        return out;
    }

    private List<Boolean> special(int[] ids) {
        List<Boolean> out = new ArrayList<>(ids.length);
        for (int id : ids) out.add(live.tokenizer().isSpecial(id));
        return out;
    }

    private SparseFeatures features(int[] ids, long deadline) {
        try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
            return live.features(ids);
        }
    }

    // ---- activations -----------------------------------------------------------------------------------

    record AllFeature(String source, int index, float[] values, float maxValue, int maxValueIndex, Float sumValues) {}

    record AllResponse(List<AllFeature> activations, List<String> tokens) {}

    void activationAll(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        String prompt = string(b, "prompt", true);
        string(b, "model", true);
        String set = string(b, "sourceSet", true);
        List<JsonNode> selected = array(b, "selectedSources", true);
        List<JsonNode> sortBy = array(b, "sortByTokenIndexes", true);
        boolean ignoreBos = bool(b, "ignoreBos", true);
        Integer asked = b.has("numResults") && !b.get("numResults").isNull() ? integer(b, "numResults", false, 0, Integer.MAX_VALUE) : null;
        int numResults = Math.min(asked == null ? DEFAULT_NUM_RESULTS : asked, MAX_NUM_RESULTS);
        if (!sourceSet.equals(set)) throw Failure.error("'sourceSet': \"" + set + "\" is not loaded: this server has " + sourceSet);
        for (int i = 0; i < selected.size(); i++) {
            if (!selected.get(i).isTextual()) throw Failure.invalid("selectedSources", "Input should be a valid string", "string_type");
            requireSource(selected.get(i).textValue(), "selectedSources[" + i + "]");
        }
        int[] ids = promptIds(prompt);
        int[] sortIdx = new int[sortBy.size()];
        for (int i = 0; i < sortIdx.length; i++) {
            JsonNode n = sortBy.get(i);
            if (!n.isIntegralNumber()) throw Failure.invalid("sortByTokenIndexes", "Input should be a valid integer", "int_type");
            sortIdx[i] = n.intValue();
            if (sortIdx[i] < 0 || sortIdx[i] >= ids.length) {
                throw Failure.error("Sort by token index " + sortIdx[i] + " is out of range for the given prompt, which only has " + ids.length + " tokens.");
            }
        }
        SparseFeatures f = features(ids, deadline);
        int d = f.dSae(), n = ids.length;
        float[][] byFeature = new float[d][];
        float[] max = new float[d], key = new float[d];
        int[] argmax = new int[d];
        for (int p = 0; p < n; p++) {
            if (ignoreBos && p == 0) continue;   // Neuronpedia zeroes the BOS column before ranking
            int[] fid = f.ids(p);
            float[] val = f.values(p);
            for (int i = 0; i < fid.length; i++) {
                if (byFeature[fid[i]] == null) byFeature[fid[i]] = new float[n];
                byFeature[fid[i]][p] = val[i];
            }
        }
        for (int k = 0; k < d; k++) {
            float[] v = byFeature[k];
            if (v == null) continue;
            for (int p = 0; p < n; p++) if (v[p] > max[k]) { max[k] = v[p]; argmax[k] = p; }
            if (sortIdx.length > 0) for (int p : sortIdx) key[k] += v[p];
        }
        float[] sortKey = sortIdx.length > 0 ? key : max;
        // descending, stable: equal keys keep feature order (most of the tail is exact zeros)
        Integer[] order = IntStream.range(0, d).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer k) -> -sortKey[k]));
        List<AllFeature> out = new ArrayList<>();
        for (int r = 0; r < Math.min(numResults, d); r++) {
            int k = order[r];
            float[] v = byFeature[k] == null ? new float[n] : byFeature[k];
            out.add(new AllFeature(source, k, v, max[k], argmax[k], sortIdx.length > 0 ? key[k] : 0f));
        }
        ctx.contentType("application/json").result(json(new AllResponse(out, strings(ids))));
    }

    record ActivationValues(float[] values, float maxValue, int maxValueIndex) {
        static ActivationValues of(float[] v) {
            int arg = 0;
            for (int p = 1; p < v.length; p++) if (v[p] > v[arg]) arg = p;
            return new ActivationValues(v, v.length == 0 ? 0 : v[arg], arg);
        }
    }

    record SingleResponse(ActivationValues activation, List<String> tokens, List<Boolean> tokensIsSpecial) {}

    void activationSingle(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        String prompt = string(b, "prompt", true);
        string(b, "model", true);
        String src = string(b, "source", false), index = string(b, "index", false), hook = string(b, "hook", false);
        List<JsonNode> vector = array(b, "vector", false);
        boolean byFeature = src != null && index != null;
        if (byFeature == (vector != null && hook != null) || (src == null) != (index == null) || (vector == null) != (hook == null)) {
            throw Failure.error("Invalid request data: exactly one of source/index or vector/hook must be provided");
        }
        int[] ids = promptIds(prompt);
        float[] values = new float[ids.length];
        if (byFeature) {
            requireSource(src, "source");
            int feature;
            try {
                feature = Integer.parseInt(index.strip());
            } catch (NumberFormatException e) {
                throw Failure.error("'index' must be a feature number, got \"" + index + "\"");
            }
            if (feature < 0 || feature >= live.dSae()) throw Failure.error("'index' " + feature + " is out of range: the SAE has features 0.." + (live.dSae() - 1));
            SparseFeatures f = features(ids, deadline);
            for (int p = 0; p < ids.length; p++) values[p] = f.get(p, feature);
        } else {
            if (!live.model().hookPoints().names().contains(hook)) throw Failure.error("'hook' \"" + hook + "\" is not a hook point of this model");
            float[] v = floats(vector, "vector");
            Activation a;
            try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
                a = live.model().activation(ids, hook);
            }
            if (a.width() != v.length) throw Failure.error("'vector' has " + v.length + " values but " + hook + " is " + a.width() + " wide");
            for (int p = 0; p < ids.length; p++) {
                double s = 0;
                for (int i = 0; i < v.length; i++) s += (double) a.get(p, i) * v[i];
                values[p] = (float) s;
            }
        }
        ctx.contentType("application/json").result(json(new SingleResponse(ActivationValues.of(values), strings(ids), special(ids))));
    }

    private static float[] floats(List<JsonNode> list, String field) {
        float[] v = new float[list.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode n = list.get(i);
            if (!n.isNumber() || !Double.isFinite(n.doubleValue())) throw Failure.invalid(field, "Input should be a finite number", "float_type");
            v[i] = n.floatValue();
        }
        return v;
    }

    record TopFeature(int featureIndex, float activationValue) {}

    record TokenResult(int tokenPosition, String token, boolean isSpecial, List<TopFeature> topFeatures) {}

    record TopkResponse(List<TokenResult> results, List<String> tokens) {}

    void topkByToken(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        String prompt = string(b, "prompt", true);
        string(b, "model", true);
        String src = string(b, "source", true);
        boolean ignoreBos = bool(b, "ignoreBos", true);
        Integer topK = integer(b, "topK", false, Integer.MIN_VALUE, Integer.MAX_VALUE);
        requireSource(src, "source");
        int k = Math.max(1, Math.min(topK == null ? DEFAULT_TOP_K : topK, live.dSae()));
        int[] ids = promptIds(prompt);
        SparseFeatures f = features(ids, deadline);
        List<String> strs = strings(ids);
        int offset = ignoreBos ? 1 : 0;
        List<TokenResult> results = new ArrayList<>();
        for (int p = offset; p < ids.length; p++) {
            List<TopFeature> top = new ArrayList<>();
            for (SparseFeatures.Feature x : f.topK(p, k)) top.add(new TopFeature(x.id(), x.value()));
            // torch.topk over every feature: when fewer are active, zeros fill the rest (lowest ids first)
            Set<Integer> have = new java.util.HashSet<>();
            top.forEach(t -> have.add(t.featureIndex()));
            for (int id = 0; top.size() < k && id < live.dSae(); id++) if (!have.contains(id)) top.add(new TopFeature(id, 0f));
            results.add(new TokenResult(p, strs.get(p), live.tokenizer().isSpecial(ids[p]), top));
        }
        ctx.contentType("application/json").result(json(new TopkResponse(results, strs.subList(offset, strs.size()))));
    }

    record TokenizeResponse(int[] tokens, List<String> tokenStrings, boolean prependBos) {}

    void tokenize(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        string(b, "model", true);
        String text = string(b, "text", true);
        Boolean prepend = bool(b, "prependBos", false);
        boolean bos = prepend == null ? live.tokenizer().addsBosByDefault() : prepend;
        if (text.length() > 10L * limits.maxPromptTokens()) throw Failure.error("'text' is longer than the server's prompt limit of " + limits.maxPromptTokens() + " tokens");
        int[] ids = live.tokenizer().encode(text, bos);
        ctx.contentType("application/json").result(json(new TokenizeResponse(ids, strings(ids), bos && ids.length > 0 && ids[0] == live.tokenizer().bosId())));
    }

    record VectorResponse(float[] vector, String hookName) {}

    void saeVector(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        string(b, "model", true);
        String src = string(b, "source", true);
        int index = integer(b, "index", true, Integer.MIN_VALUE, Integer.MAX_VALUE);
        requireSource(src, "source");
        if (index < 0 || index >= live.dSae()) throw Failure.error("'index' " + index + " is out of range: the SAE has features 0.." + (live.dSae() - 1));
        // the decoder row as stored (Neuronpedia returns W_dec[index])
        float[] v = new float[live.sae().dIn()];
        for (int i = 0; i < v.length; i++) v[i] = live.sae().decoderWeight().get((long) index * v.length + i);
        ctx.contentType("application/json").result(json(new VectorResponse(v, live.hook())));
    }

    // ---- steering --------------------------------------------------------------------------------------

    record NpLogprobTop(String token, double logprob) {}

    record NpLogprob(String token, double logprob, List<NpLogprobTop> topLogprobs) {}

    record Output(String type, String output, List<NpLogprob> logprobs) {}

    record CompletionResponse(List<Output> outputs) {}

    record ChatMessage(String role, String content) {}

    record ChatResult(List<ChatMessage> chatTemplate, String raw, String type, List<NpLogprob> logprobs) {}

    record ChatResponse(List<ChatResult> outputs, ChatResult input) {}

    /** What both steering endpoints share, read from the request. */
    private record SteerSpec(HookSet hooks, List<String> types, Generation generation, float frequencyPenalty, int nLogprobs, boolean stream) {}

    private SteerSpec steerSpec(ObjectNode b, int[] ids, boolean chat) {
        string(b, "model", true);
        String method = string(b, "steerMethod", true);
        boolean normalize = bool(b, "normalizeSteering", true);
        List<JsonNode> typeNodes = array(b, "types", true);
        int n = integer(b, "nCompletionTokens", true, 1, Integer.MAX_VALUE);
        double temperature = number(b, "temperature", true);
        double multiplier = number(b, "strengthMultiplier", true);
        double freq = number(b, "freqPenalty", true);
        double seed = number(b, "seed", true);
        boolean special = chat ? bool(b, "steerSpecialTokens", true) : true;
        Integer nLogprobs = integer(b, "nLogprobs", false, 0, MAX_LOGPROBS);
        Boolean stream = bool(b, "stream", false);
        List<JsonNode> feats = array(b, "features", false), vecs = array(b, "vectors", false);

        Steering.Method m;
        try {
            m = Steering.Method.valueOf(method);
        } catch (IllegalArgumentException e) {
            throw Failure.invalid("steerMethod", "Input should be 'SIMPLE_ADDITIVE', 'ORTHOGONAL_DECOMP' or 'PROJECTION_CAP'", "enum");
        }
        if (typeNodes.isEmpty()) throw Failure.invalid("types", "List should have at least 1 item after validation, not 0", "too_short");
        List<String> types = new ArrayList<>();
        for (JsonNode t : typeNodes) {
            if (!t.isTextual() || !(t.textValue().equals("STEERED") || t.textValue().equals("DEFAULT"))) {
                throw Failure.invalid("types", "Input should be 'STEERED' or 'DEFAULT'", "enum");
            }
            types.add(t.textValue());
        }
        if (temperature < 0 || temperature > 2) throw Failure.error("'temperature' must be in [0, 2], got " + temperature);
        if (Math.abs(multiplier) > Requests.MAX_MULTIPLIER) throw Failure.error("'strengthMultiplier' must be within ±" + (int) Requests.MAX_MULTIPLIER);
        if (Math.abs(freq) > 2) throw Failure.error("'freqPenalty' must be within ±2, got " + freq);
        if (n > limits.maxNewTokens()) throw Failure.error("'nCompletionTokens' is " + n + "; the server generates at most " + limits.maxNewTokens() + " tokens");
        if ((feats == null) == (vecs == null)) throw Failure.error("Invalid request data: exactly one of features or vectors must be provided");

        Steering.Options options = new Steering.Options(m, (float) multiplier, normalize);
        HookSet hooks = HookSet.empty();
        BitSet skipped = special ? new BitSet() : Steering.positionsOf(ids, live.tokenizer()::isSpecial);
        if (feats != null) {
            Map<Integer, Float> strengths = new LinkedHashMap<>();
            for (int i = 0; i < feats.size(); i++) {
                JsonNode f = feats.get(i);
                String at = "features[" + i + "]";
                if (!f.isObject()) throw Failure.invalid(at, "Input should be a valid dictionary", "dict_type");
                ObjectNode o = (ObjectNode) f;
                String fs = string(o, "source", true);
                string(o, "model", true);
                int index = integer(o, "index", true, Integer.MIN_VALUE, Integer.MAX_VALUE);
                double strength = number(o, "strength", true);
                requireSource(fs, at + ".source");
                if (index < 0 || index >= live.dSae()) throw Failure.error("'" + at + ".index' " + index + " is out of range: the SAE has features 0.." + (live.dSae() - 1));
                if (Math.abs(strength) > Requests.MAX_STRENGTH) throw Failure.error("'" + at + ".strength' must be within ±" + (int) Requests.MAX_STRENGTH);
                strengths.merge(index, (float) strength, Float::sum);
            }
            // One intervention per feature, a feature named twice with its strengths summed (as Neuronpedia does).
            List<Intervention> interventions = new ArrayList<>();
            strengths.forEach((f, s) -> interventions.add(Intervention.along(m, f, s)));
            hooks = Intervention.hooks(live.sae(), interventions, new Intervention.Options((float) multiplier, normalize, skipped, 0));
        } else {
            for (int i = 0; i < vecs.size(); i++) {
                JsonNode v = vecs.get(i);
                String at = "vectors[" + i + "]";
                if (!v.isObject()) throw Failure.invalid(at, "Input should be a valid dictionary", "dict_type");
                ObjectNode o = (ObjectNode) v;
                String hook = string(o, "hook", true);
                float[] vector = floats(array(o, "steeringVector", true), at + ".steeringVector");
                double strength = number(o, "strength", true);
                if (!live.model().hookPoints().names().contains(hook)) throw Failure.error("'" + at + ".hook' \"" + hook + "\" is not a hook point of this model");
                hooks = hooks.with(Steering.vectors(hook, List.of(vector), List.of((float) strength), options).skipping(skipped).hookSet());
            }
        }
        // Neuronpedia steers chat-style prompts: stop at the model's eos ids and the turn end, as before.
        Generation g = new Generation(n, (float) temperature, 0, 1f, (long) seed, live.chatStops());
        return new SteerSpec(hooks, types, g, (float) freq, nLogprobs == null ? 0 : nLogprobs, stream != null && stream);
    }

    /** One generation of a steering request and what it has produced so far. */
    private final class Run {
        final String type;
        final Continuation continuation;
        final List<NpLogprob> logprobs = new ArrayList<>();
        final int top;

        Run(String type, int[] ids, SteerSpec spec) {
            this.type = type;
            this.top = spec.nLogprobs();
            HookSet hooks = type.equals("STEERED") ? spec.hooks() : HookSet.empty();
            TokenGenerator g = live.generator(ids, spec.generation(), hooks, null).withFrequencyPenalty(spec.frequencyPenalty());
            this.continuation = new Continuation(g, live.tokenizer(), List.of());
        }

        void step() {
            continuation.step();
            if (top > 0) {
                Logprobs.TokenLogprob lp = continuation.logprob(top);
                logprobs.add(new NpLogprob(lp.token(), lp.logprob(), lp.topLogprobs().stream().map(a -> new NpLogprobTop(a.token(), a.logprob())).toList()));
            }
        }

        List<NpLogprob> logprobsOrNull() { return top > 0 ? List.copyOf(logprobs) : null; }
    }

    /**
     * Runs each requested type in order, as Neuronpedia's server does; streaming sends a frame with every output
     * so far after each token ({@code data: {...}}), and the last frame is the whole answer.
     */
    private void generate(Context ctx, long deadline, int[] ids, SteerSpec spec, java.util.function.Function<List<Run>, Object> frame) {
        List<Run> runs = spec.types().stream().map(t -> new Run(t, ids, spec)).toList();
        try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
            SseStream sse = spec.stream() ? new SseStream(ctx) : null;
            for (Run r : runs) {
                while (!r.continuation.done()) {
                    if (System.nanoTime() > deadline) throw Failure.error("the request ran past the server's time limit and was stopped");
                    r.step();
                    if (sse != null) sse.data(json(frame.apply(runs)));
                }
            }
            if (sse == null) ctx.contentType("application/json").result(json(frame.apply(runs)));
        } finally {
            for (Run r : runs) r.continuation.close();
        }
    }

    void steerCompletion(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        String prompt = string(b, "prompt", true);
        int[] ids = promptIds(prompt);
        SteerSpec spec = steerSpec(b, ids, false);
        generate(ctx, deadline, ids, spec, runs -> new CompletionResponse(runs.stream()
                .map(r -> new Output(r.type, r.continuation.text(), r.logprobsOrNull())).toList()));
    }

    void steerCompletionChat(Context ctx, long deadline) {
        ObjectNode b = body(ctx);
        List<JsonNode> messages = array(b, "prompt", true);
        List<ChatMessage> input = new ArrayList<>();
        List<ChatTemplate.Turn> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String at = "prompt[" + i + "]";
            if (!m.isObject()) throw Failure.invalid(at, "Input should be a valid dictionary", "dict_type");
            String role = string((ObjectNode) m, "role", true), content = string((ObjectNode) m, "content", true);
            input.add(new ChatMessage(role, content));
            turns.add(switch (role) {
                case "user" -> ChatTemplate.Turn.user(content);
                case "model", "assistant" -> ChatTemplate.Turn.model(content);
                case "system" -> ChatTemplate.Turn.system(content);
                default -> throw Failure.error("'" + at + ".role' must be user, assistant (or model) or system, got \"" + role + "\"");
            });
        }
        if (turns.isEmpty()) throw Failure.error("'prompt' must hold at least one message");
        int[] ids = live.encodeChat(turns, "prompt");
        String raw = live.tokenizer().decode(ids, false);
        SteerSpec spec = steerSpec(b, ids, true);
        ChatResult in = new ChatResult(input, raw, null, null);
        generate(ctx, deadline, ids, spec, runs -> new ChatResponse(runs.stream().map(r -> {
            List<ChatMessage> all = new ArrayList<>(input);
            all.add(new ChatMessage("assistant", r.continuation.text()));
            return new ChatResult(all, raw + r.continuation.text(), r.type, r.logprobsOrNull());
        }).toList(), in));
    }
}
