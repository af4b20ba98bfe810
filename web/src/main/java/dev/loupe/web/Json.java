package dev.loupe.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * JSON in and out. Responses are records written with snake_case names (OpenAI's and llama-server's
 * convention). Requests are read as trees and checked field by field, so that a bad field gets a message
 * naming it rather than a binding error.
 */
final class Json {
    /** Records → snake_case JSON, null fields left out (as OpenAI leaves {@code role} out of later stream deltas). */
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            // "{...} garbage" is not one JSON object: refuse it rather than read the first value and drop the rest.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    static {
        // A deeply nested body must not exhaust the stack of a request thread.
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
    }

    private Json() {}

    /** Parses a request body that must be one JSON object. */
    static ObjectNode object(String body) {
        if (body == null || body.isBlank()) throw ApiException.badRequest("the request body is empty; expected a JSON object");
        JsonNode n;
        try {
            n = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
            int col = e.getLocation() == null ? -1 : e.getLocation().getColumnNr();
            throw ApiException.badRequest("the request body is not valid JSON" + (line > 0 ? " (line " + line + ", column " + col + ")" : "")
                    + ": " + problem(e));
        }
        if (n == null || !n.isObject()) throw ApiException.badRequest("the request body must be a JSON object, got " + kind(n));
        return (ObjectNode) n;
    }

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }

    // ---- fields of a request object ------------------------------------------------------------------

    static String requireString(JsonNode obj, String field) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) throw ApiException.badRequest("'" + field + "' is required (a string)", field);
        if (!n.isTextual()) throw ApiException.badRequest("'" + field + "' must be a string, got " + kind(n), field);
        return n.textValue();
    }

    static String optString(JsonNode obj, String field, String fallback) { return optString(obj, field, field, fallback); }

    static String optString(JsonNode obj, String field, String label, String fallback) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isTextual()) throw ApiException.badRequest("'" + label + "' must be a string, got " + kind(n), label);
        return n.textValue();
    }

    static int requireInt(JsonNode obj, String field, long min, long max) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) throw ApiException.badRequest("'" + field + "' is required (an integer in [" + min + ", " + max + "])", field);
        return toInt(n, field, min, max);
    }

    static int optInt(JsonNode obj, String field, int fallback, long min, long max) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) return fallback;
        return toInt(n, field, min, max);
    }

    static Long optLong(JsonNode obj, String field) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw ApiException.badRequest("'" + field + "' must be an integer, got " + kind(n), field);
        }
        return n.longValue();
    }

    static double requireNumber(JsonNode obj, String field, double min, double max) { return requireNumber(obj, field, field, min, max); }

    /** As {@link #requireNumber(JsonNode, String, double, double)}; messages name the field {@code label} (a path). */
    static double requireNumber(JsonNode obj, String field, String label, double min, double max) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) throw ApiException.badRequest("'" + label + "' is required (a number in [" + fmt(min) + ", " + fmt(max) + "])", label);
        return toNumber(n, label, min, max);
    }

    static double optNumber(JsonNode obj, String field, double fallback, double min, double max) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) return fallback;
        return toNumber(n, field, min, max);
    }

    static boolean optBoolean(JsonNode obj, String field, boolean fallback) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isBoolean()) throw ApiException.badRequest("'" + field + "' must be true or false, got " + kind(n), field);
        return n.booleanValue();
    }

    /** A string or an array of strings (OpenAI's {@code stop}); empty when absent. */
    static List<String> stringOrStrings(JsonNode obj, String field, int maxItems) {
        JsonNode n = obj.get(field);
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) return out;
        if (n.isTextual()) {
            out.add(n.textValue());
        } else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) throw ApiException.badRequest("'" + field + "' must be a string or an array of strings; it holds " + kind(e), field);
                out.add(e.textValue());
            }
        } else {
            throw ApiException.badRequest("'" + field + "' must be a string or an array of strings, got " + kind(n), field);
        }
        if (out.size() > maxItems) throw ApiException.badRequest("'" + field + "' holds " + out.size() + " entries; at most " + maxItems, field);
        return out;
    }

    static int toInt(JsonNode n, String field, long min, long max) {
        if (!n.isNumber()) throw ApiException.badRequest("'" + field + "' must be an integer in [" + min + ", " + max + "], got " + kind(n), field);
        // 12.0 is accepted as 12 (some clients write every number as a float); 12.5 is not.
        double d = n.doubleValue();
        if (d != Math.rint(d) || Double.isInfinite(d)) {
            throw ApiException.badRequest("'" + field + "' must be an integer, got " + number(n), field);
        }
        if (d < min || d > max) throw ApiException.badRequest("'" + field + "' must be in [" + min + ", " + max + "], got " + number(n), field);
        return (int) d;
    }

    static double toNumber(JsonNode n, String field, double min, double max) {
        if (!n.isNumber()) throw ApiException.badRequest("'" + field + "' must be a number in [" + fmt(min) + ", " + fmt(max) + "], got " + kind(n), field);
        double d = n.doubleValue();
        if (!Double.isFinite(d) || d < min || d > max) {
            throw ApiException.badRequest("'" + field + "' must be a finite number in [" + fmt(min) + ", " + fmt(max) + "], got " + number(n), field);
        }
        return d;
    }

    /** A number as a person writes it: 1e30 as "1e30", not "1.0E30"; integers in full up to 15 digits. */
    static String number(JsonNode n) {
        double d = n.doubleValue();
        if (n.isIntegralNumber() && n.canConvertToLong() && Math.abs(d) < 1e15) return Long.toString(n.longValue());
        if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
        if (!Double.isFinite(d)) return "too large to represent";
        java.math.BigDecimal b = new java.math.BigDecimal(n.decimalValue().toString()).stripTrailingZeros();
        return b.precision() > 17 ? String.format(java.util.Locale.ROOT, "%.6g", d) : b.toString().replace("E+", "e").replace("E", "e");
    }

    /** What a JSON value is, for messages. */
    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        if (n.isNull()) return "null";
        if (n.isTextual()) return "a string";
        if (n.isBoolean()) return "a boolean";
        if (n.isNumber()) return "the number " + number(n);
        if (n.isArray()) return "an array";
        return "an object";
    }

    private static String fmt(double d) { return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d); }

    /**
     * What is wrong with a body, in words: Jackson's own messages name its internals (source locations,
     * {@code StreamReadFeature} settings, the Java type being bound), which mean nothing to a client.
     */
    static String problem(JsonProcessingException e) {
        if (e instanceof com.fasterxml.jackson.core.io.JsonEOFException) return "the body ends before the JSON value is complete";
        String m = firstLine(e.getOriginalMessage());
        if (m.startsWith("Trailing token")) return "there is more text after the JSON object; send exactly one JSON object";
        if (m.startsWith("Duplicate field")) return m.replaceAll("\\s*\\(.*$", "");
        if (m.contains("Source:") || m.contains("StreamReadFeature") || m.contains("com.fasterxml") || m.contains("`")) {
            // Keep the part before any parenthesised location or type detail.
            int cut = m.indexOf(" (");
            m = (cut > 0 ? m.substring(0, cut) : "malformed JSON").replace("`", "'");
        }
        return m;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
