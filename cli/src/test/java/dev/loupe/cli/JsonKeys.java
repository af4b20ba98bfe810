package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every {@code --json} output names its fields in snake_case, as llama-bench does. */
final class JsonKeys {
    private static final Pattern SNAKE = Pattern.compile("[a-z][a-z0-9]*(_[a-z0-9]+)*");

    private JsonKeys() {}

    /** Fails listing every key, at any depth, that is not snake_case. */
    static void assertSnakeCase(JsonNode root) {
        List<String> bad = new ArrayList<>();
        collect(root, "", bad);
        assertEquals(List.of(), bad, "keys that are not snake_case");
    }

    /** The object's field names in order. */
    static List<String> names(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static void collect(JsonNode n, String path, List<String> bad) {
        if (n.isObject()) {
            for (var e : (Iterable<java.util.Map.Entry<String, JsonNode>>) n::fields) {
                if (!SNAKE.matcher(e.getKey()).matches()) bad.add(path + e.getKey());
                collect(e.getValue(), path + e.getKey() + ".", bad);
            }
        } else if (n.isArray()) {
            for (JsonNode c : n) collect(c, path + "[].", bad);
        }
    }
}
