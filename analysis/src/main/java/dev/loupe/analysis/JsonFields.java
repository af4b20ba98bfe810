package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.io.LoupeJson;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One JSON object of a run-folder file (run.json, a shard marker, a part's plan) being bound to a record: every
 * getter checks the field's presence and type, so a damaged file fails in one line naming the file, the field (as a
 * path such as {@code saes[0].d_sae}) and what was expected, instead of reading as 0 or as the text "null".
 */
final class JsonFields {
    private final Path file;
    private final String path;
    private final JsonNode node;

    private JsonFields(Path file, String path, JsonNode node) {
        this.file = file;
        this.path = path;
        this.node = node;
    }

    /** The object a file holds; fails in one line when it is not valid JSON or not an object. */
    static JsonFields read(Path file) throws IOException {
        JsonNode root;
        try {
            root = LoupeJson.MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON (" + LoupeJson.describe(e) + ")");
        }
        if (root == null || !root.isObject()) throw new BadInputException(file + ": expected a JSON object");
        return new JsonFields(file, "", root);
    }

    /** Writes a record's JSON form, indented, under a temporary name then renamed. */
    static void write(Path file, Object json) throws IOException {
        AtomicFiles.writeString(file, LoupeJson.PRETTY.writeValueAsString(json) + "\n");
    }

    Path file() { return file; }

    /** The object as read (for the run id, a hash over fields as the file holds them). */
    JsonNode node() { return node; }

    boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    JsonFields object(String field) {
        JsonNode v = require(field);
        if (!v.isObject()) throw expected(field, v, "an object");
        return new JsonFields(file, name(field), v);
    }

    /** A required array of objects. */
    List<JsonFields> objects(String field) {
        JsonNode v = array(field);
        List<JsonFields> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            String at = name(field) + "[" + i + "]";
            if (!v.get(i).isObject()) throw new BadInputException(file + ": " + at + " is " + brief(v.get(i)) + ", expected an object");
            out.add(new JsonFields(file, at, v.get(i)));
        }
        return out;
    }

    List<Long> longs(String field) {
        JsonNode v = array(field);
        List<Long> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToLong() || e.asLong() < 0) {
                throw new BadInputException(file + ": " + name(field) + "[" + i + "] is " + brief(e) + ", expected a whole number >= 0");
            }
            out.add(e.asLong());
        }
        return out;
    }

    List<String> strings(String field) {
        JsonNode v = array(field);
        List<String> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) throw new BadInputException(file + ": " + name(field) + "[" + i + "] is " + brief(v.get(i)) + ", expected a string");
            out.add(v.get(i).asText());
        }
        return out;
    }

    String string(String field) {
        JsonNode v = require(field);
        if (!v.isTextual()) throw expected(field, v, "a string");
        return v.asText();
    }

    /** An optional string: {@code fallback} when absent, null when the file holds null. */
    String stringOr(String field, String fallback) {
        JsonNode v = node.get(field);
        if (v == null) return fallback;
        if (v.isNull()) return null;
        if (!v.isTextual()) throw expected(field, v, "a string");
        return v.asText();
    }

    int integer(String field, int min) {
        long v = whole(field, min);
        if (v > Integer.MAX_VALUE) throw expected(field, node.get(field), "a whole number from " + min + " to " + Integer.MAX_VALUE);
        return (int) v;
    }

    long whole(String field, long min) {
        JsonNode v = require(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min) throw expected(field, v, "a whole number >= " + min);
        return v.asLong();
    }

    /** Any 64-bit whole number (a seed). */
    long anyLong(String field) {
        JsonNode v = require(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw expected(field, v, "a whole number");
        return v.asLong();
    }

    boolean bool(String field) {
        JsonNode v = require(field);
        if (!v.isBoolean()) throw expected(field, v, "true or false");
        return v.asBoolean();
    }

    boolean boolOr(String field, boolean fallback) { return has(field) ? bool(field) : fallback; }

    /** A failure about this object's {@code field}: "FILE: PATH is VALUE, expected WHAT". */
    BadInputException invalid(String field, String what) { return expected(field, node.get(field), what); }

    /** A failure about the file as a whole: "FILE: MESSAGE". */
    BadInputException fail(String message) { return new BadInputException(file + ": " + message); }

    /** The field's path in the file ({@code options.context}). */
    String name(String field) { return path.isEmpty() ? field : path + "." + field; }

    private JsonNode array(String field) {
        JsonNode v = require(field);
        if (!v.isArray()) throw expected(field, v, "an array");
        return v;
    }

    private JsonNode require(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) throw new BadInputException(file + ": missing field \"" + name(field) + "\"");
        return v;
    }

    private BadInputException expected(String field, JsonNode v, String what) {
        return new BadInputException(file + ": " + name(field) + " is " + brief(v) + ", expected " + what);
    }

    private static String brief(JsonNode v) {
        String s = String.valueOf(v);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

}
