package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Generation;
import dev.loupe.sae.Intervention;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;

/** Parsing the parts that the steering page and {@code /v1/chat/completions} share: sampling and interventions. */
final class Requests {
    /** Additive strengths and clamp values beyond this are refused: far past anything that still makes text. */
    static final double MAX_STRENGTH = 1000;
    /** Clamp-to-max multiples beyond this are refused. */
    static final double MAX_MULTIPLE = 100;
    static final int MAX_INTERVENTIONS = 16;
    /**
     * New tokens when a completion request gives no {@code max_tokens}: about a paragraph, a few seconds on a CPU.
     * llama-server runs to the end of the context (its curl example ran 512 tokens, 45 s, on the demo model) and
     * OpenAI to the model's limit; a chat user expects an answer, not a wait. Capped by {@code --max-new-tokens}.
     */
    static final int DEFAULT_MAX_TOKENS = 128;
    static final int MAX_STOP_STRINGS = 4;
    /** Longer stop strings are refused: each is matched against the text's tail at every token. */
    static final int MAX_STOP_LENGTH = 64;

    private Requests() {}

    static int defaultMaxTokens(Limits limits) { return Math.min(DEFAULT_MAX_TOKENS, limits.maxNewTokens()); }

    /** OpenAI's {@code stop}: a string or up to four, each at most {@link #MAX_STOP_LENGTH} characters. */
    static List<String> stops(JsonNode body) {
        List<String> stops = Json.stringOrStrings(body, "stop", MAX_STOP_STRINGS);
        for (int i = 0; i < stops.size(); i++) {
            if (stops.get(i).length() > MAX_STOP_LENGTH) {
                throw ApiException.badRequest("'stop' holds a string of " + stops.get(i).length() + " characters; each may have at most " + MAX_STOP_LENGTH, "stop");
            }
        }
        return stops;
    }

    /**
     * Refuses fields this server does not carry out, so that a client is not silently given something other than
     * what it asked for. {@code supported}: the fields the endpoint reads or knowingly ignores.
     */
    static void refuseUnsupported(JsonNode body, Set<String> supported, String endpoint) {
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (supported.contains(f)) continue;
            String why = switch (f) {
                case "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls" -> "this server does not call tools";
                case "response_format", "json_schema", "grammar" -> "this server does not constrain the output format";
                case "logit_bias" -> "this server does not bias logits";
                case "presence_penalty", "frequency_penalty", "repeat_penalty" -> "this server applies no repetition penalties";
                case "audio", "modalities" -> "this model reads and writes text only";
                default -> "it takes " + String.join(", ", new java.util.TreeSet<>(supported));
            };
            throw ApiException.badRequest("'" + QueryParams.clip(f) + "' is not supported by " + endpoint + ": " + why, f);
        }
    }

    /**
     * Sampling from {@code temperature} (0–2), {@code top_p} (0–1; 0 means greedy), {@code top_k} (≥ 0),
     * {@code seed} (random when absent), {@code ignore_eos} and the length field {@code maxField} (1..limit).
     */
    static Generation generation(JsonNode body, String maxField, int defaultMax, int maxLimit, double defaultTemperature) {
        JsonNode asked = body.get(maxField);
        if (asked != null && asked.isNumber() && asked.doubleValue() > maxLimit) {
            // 400, as OpenAI and llama-server answer: the request asks for more than this server makes.
            throw ApiException.badRequest("'" + maxField + "' is " + Json.number(asked) + "; this server generates at most " + maxLimit
                    + " tokens per request (its --max-new-tokens)", maxField);
        }
        int max = Json.optInt(body, maxField, Math.min(defaultMax, maxLimit), 1, maxLimit);
        double temperature = Json.optNumber(body, "temperature", defaultTemperature, 0, 2);
        double topP = Json.optNumber(body, "top_p", 1, 0, 1);
        int topK = Json.optInt(body, "top_k", 0, 0, Integer.MAX_VALUE);
        Long seed = Json.optLong(body, "seed");
        if (topP == 0) temperature = 0;   // nothing but the most likely token is left
        long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
        // llama-server's ignore_eos: run to the length limit through <eos> and <end_of_turn>; otherwise (null) the
        // model's eos ids, to which a chat adds its turn end.
        Set<Integer> stops = Json.optBoolean(body, "ignore_eos", false) ? Set.of() : null;
        return new Generation(max, (float) temperature, topK, topP == 0 ? 1f : (float) topP, s, stops);
    }

    /** Neuronpedia's strength multipliers beyond this are refused. */
    static final double MAX_MULTIPLIER = 1000;

    /**
     * Interventions with the request-wide settings Neuronpedia's steering requests carry: every strength is
     * multiplied by {@code strengthMultiplier}; {@code normalize} steers along unit directions (additive only
     * changes with it); without {@code steerSpecialTokens} the prompt's special tokens are left unsteered.
     */
    record Steer(List<Intervention> interventions, float strengthMultiplier, boolean normalize, boolean steerSpecialTokens) {
        static Steer none() { return new Steer(List.of(), 1f, false, true); }

        boolean isEmpty() { return interventions.isEmpty(); }
    }

    /**
     * The steering of a request: the list {@code obj[listField]} ({@link #interventions}) and the optional
     * {@code strength_multiplier} (default 1), {@code normalize_steering} (default false) and
     * {@code steer_special_tokens} (default true) beside it; {@code prefix} names where {@code obj} sits in error messages.
     */
    static Steer steer(JsonNode obj, String listField, String prefix, int dSae, IntFunction<Float> maxActivation) {
        List<Intervention> list = interventions(obj.get(listField), prefix + listField, dSae, maxActivation);
        double m = obj.has("strength_multiplier") ? Json.requireNumber(obj, "strength_multiplier", prefix + "strength_multiplier", -MAX_MULTIPLIER, MAX_MULTIPLIER) : 1;
        boolean normalize = Json.optBoolean(obj, "normalize_steering", false);
        boolean special = Json.optBoolean(obj, "steer_special_tokens", true);
        return new Steer(list, (float) m, normalize, special);
    }

    /**
     * A list of {@code {"feature", "mode", "strength"}} objects; modes {@code add} (strength = α, ±1000),
     * {@code orthogonal_decomp} (strength = the factor on the component along the direction, ±1000),
     * {@code projection_cap} (strength = the cap on the projection, ±1000), {@code clamp} (strength = the
     * activation, ±1000), {@code clamp_max} (strength = a multiple of the feature's max activation over the run,
     * ±100) and {@code ablate} (no strength).
     *
     * @param maxActivation a feature's max activation over the corpus run, or null when unknown
     */
    static List<Intervention> interventions(JsonNode list, String field, int dSae, IntFunction<Float> maxActivation) {
        List<Intervention> out = new ArrayList<>();
        if (list == null || list.isNull()) return out;
        if (!list.isArray()) throw ApiException.badRequest("'" + field + "' must be an array of {feature, mode, strength} objects, got " + Json.kind(list), field);
        if (list.size() > MAX_INTERVENTIONS) throw ApiException.badRequest("'" + field + "' has " + list.size() + " entries; at most " + MAX_INTERVENTIONS, field);
        for (int i = 0; i < list.size(); i++) {
            JsonNode e = list.get(i);
            String at = field + "[" + i + "]";
            if (!e.isObject()) throw ApiException.badRequest("'" + at + "' must be an object {feature, mode, strength}, got " + Json.kind(e), at);
            JsonNode fNode = e.get("feature");
            if (fNode == null || fNode.isNull()) throw ApiException.badRequest("'" + at + ".feature' is required (a feature id)", at + ".feature");
            if (!fNode.isNumber()) throw ApiException.badRequest("'" + at + ".feature' must be an integer feature id, got " + Json.kind(fNode), at + ".feature");
            double fd = fNode.doubleValue();
            if (fd != Math.rint(fd)) throw ApiException.badRequest("'" + at + ".feature' must be an integer, got " + Json.number(fNode), at + ".feature");
            if (fd < 0 || fd >= dSae) {
                throw ApiException.notFound("feature " + Json.number(fNode) + " does not exist: the SAE has features 0.." + (dSae - 1) + " ('" + at + ".feature')");
            }
            int f = (int) fd;
            String mode = Json.optString(e, "mode", at + ".mode", "add");
            out.add(switch (mode) {
                case "add" -> new Intervention.Add(f, Json.requireNumber(e, "strength", at + ".strength", -MAX_STRENGTH, MAX_STRENGTH));
                case "orthogonal_decomp" -> new Intervention.Orthogonal(f, Json.requireNumber(e, "strength", at + ".strength", -MAX_STRENGTH, MAX_STRENGTH));
                case "projection_cap" -> new Intervention.ProjectionCap(f, Json.requireNumber(e, "strength", at + ".strength", -MAX_STRENGTH, MAX_STRENGTH));
                case "clamp" -> new Intervention.Clamp(f, Json.requireNumber(e, "strength", at + ".strength", -MAX_STRENGTH, MAX_STRENGTH));
                case "clamp_max" -> {
                    double m = Json.requireNumber(e, "strength", at + ".strength", -MAX_MULTIPLE, MAX_MULTIPLE);
                    Float max = maxActivation.apply(f);
                    if (max == null || !(max > 0)) {
                        throw ApiException.badRequest("'" + at + "': feature " + f + " never fired in the corpus run, so it has no max activation to clamp to a multiple of; use mode clamp", at + ".mode");
                    }
                    yield new Intervention.ClampToMax(f, m, max);
                }
                case "ablate" -> new Intervention.Ablate(f);
                default -> throw ApiException.badRequest("'" + at + ".mode' must be add, orthogonal_decomp, projection_cap, clamp, clamp_max or ablate, got \"" + mode + "\"", at + ".mode");
            });
        }
        return out;
    }

    /** The API's name of an intervention's kind, as {@link #interventions} reads it. */
    static String mode(Intervention i) {
        return switch (i) {
            case Intervention.Add a -> "add";
            case Intervention.Orthogonal o -> "orthogonal_decomp";
            case Intervention.ProjectionCap p -> "projection_cap";
            case Intervention.Clamp c -> "clamp";
            case Intervention.ClampToMax c -> "clamp_max";
            case Intervention.Ablate a -> "ablate";
        };
    }
}
