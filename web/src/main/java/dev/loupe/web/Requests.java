package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Generation;

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

    private Requests() {}

    /**
     * Sampling from {@code temperature} (0–2), {@code top_p} (0–1; 0 means greedy), {@code top_k} (≥ 0),
     * {@code seed} (random when absent), {@code ignore_eos} and the length field {@code maxField} (1..limit).
     */
    static Generation generation(JsonNode body, String maxField, int defaultMax, int maxLimit, double defaultTemperature) {
        JsonNode asked = body.get(maxField);
        if (asked != null && asked.isNumber() && asked.doubleValue() > maxLimit) {
            throw ApiException.tooLarge("'" + maxField + "' is " + asked.asText() + "; the server generates at most " + maxLimit + " tokens", maxField);
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

    /**
     * A list of {@code {"feature", "mode", "strength"}} objects; modes {@code add} (strength = α, ±1000),
     * {@code clamp} (strength = the activation, ±1000), {@code clamp_max} (strength = a multiple of the feature's
     * max activation over the run, ±100) and {@code ablate} (no strength).
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
            if (fd != Math.rint(fd)) throw ApiException.badRequest("'" + at + ".feature' must be an integer, got " + fNode.asText(), at + ".feature");
            if (fd < 0 || fd >= dSae) {
                throw ApiException.notFound("feature " + fNode.asText() + " does not exist: the SAE has features 0.." + (dSae - 1) + " ('" + at + ".feature')");
            }
            int f = (int) fd;
            String mode = Json.optString(e, "mode", at + ".mode", "add");
            out.add(switch (mode) {
                case "add" -> new Intervention.Add(f, Json.requireNumber(e, "strength", at + ".strength", -MAX_STRENGTH, MAX_STRENGTH));
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
                default -> throw ApiException.badRequest("'" + at + ".mode' must be add, clamp, clamp_max or ablate, got \"" + mode + "\"", at + ".mode");
            });
        }
        return out;
    }
}
