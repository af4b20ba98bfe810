package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON value read with jackson-core alone, for the little sections of tokenizer.json:
 * Jackson's ObjectMapper takes ~0.3 s to start, more than reading the whole vocabulary.
 * Lookups never fail: a missing member is {@link #MISSING}.
 */
final class JsonValue {
    static final JsonValue MISSING = new JsonValue(null, true);
    private static final JsonValue NULL = new JsonValue(null, false);

    private final Object value;
    private final boolean missing;

    private JsonValue(Object value, boolean missing) {
        this.value = value;
        this.missing = missing;
    }

    /** Reads the value starting at the parser's current token. */
    static JsonValue read(JsonParser p) throws IOException {
        return new JsonValue(readRaw(p), false);
    }

    private static Object readRaw(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) throw new IOException("unexpected end of JSON");
        return switch (t) {
            case START_OBJECT -> {
                Map<String, JsonValue> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, read(p));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<JsonValue> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(read(p));
                yield l;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getNumberValue(); // Integer, Long, BigInteger or Double
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw new IOException("unexpected JSON token " + t);
        };
    }

    boolean isMissingOrNull() { return value == null; }

    boolean isObject() { return value instanceof Map; }

    boolean isArray() { return value instanceof List; }

    boolean isText() { return value instanceof String; }

    private boolean isInt() { return value instanceof Integer || value instanceof Long; }

    /** The member {@code name} of an object, or {@link #MISSING}. */
    JsonValue get(String name) {
        if (value instanceof Map<?, ?> m) {
            Object v = m.get(name);
            if (v != null) return (JsonValue) v;
        }
        return MISSING;
    }

    boolean has(String name) { return value instanceof Map<?, ?> m && m.containsKey(name); }

    /** The elements of an array; empty for anything else. */
    @SuppressWarnings("unchecked")
    List<JsonValue> elements() { return value instanceof List<?> l ? (List<JsonValue>) l : List.of(); }

    String text(String otherwise) { return value instanceof String s ? s : otherwise; }

    boolean bool(boolean otherwise) { return value instanceof Boolean b ? b : otherwise; }

    /** The value as an int id: integers only, -1 otherwise. */
    int intId() {
        if (!isInt()) return -1;
        long v = ((Number) value).longValue();
        return v >= 0 && v <= Integer.MAX_VALUE ? (int) v : -1;
    }

    @Override
    public String toString() {
        if (missing) return "(missing)";
        if (value == null) return "null";
        if (value instanceof String s) return '"' + s + '"';
        if (value instanceof List<?> l) return l.toString();
        if (value instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("{");
            m.forEach((k, v) -> b.append(b.length() > 1 ? ", " : "").append('"').append(k).append("\": ").append(v));
            return b.append('}').toString();
        }
        return value.toString();
    }
}
