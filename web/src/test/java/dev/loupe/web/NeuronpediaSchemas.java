package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The JSON schemas of Neuronpedia's inference API (the vendored {@code neuronpedia/openapi.json}, see its
 * PROVENANCE.md), checked with networknt's json-schema-validator in draft 2020-12, the dialect OpenAPI 3.1 uses.
 * Each component is validated as {@code {"$ref": "#/components/schemas/NAME"}} inside a copy of the whole document,
 * so that its references resolve as the document wrote them.
 */
final class NeuronpediaSchemas {
    private static final JsonNode DOCUMENT = load();
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final ConcurrentHashMap<String, Schema> SCHEMAS = new ConcurrentHashMap<>();

    private NeuronpediaSchemas() {}

    private static JsonNode load() {
        try (InputStream in = NeuronpediaSchemas.class.getResourceAsStream("/neuronpedia/openapi.json")) {
            return Json.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode document() { return DOCUMENT; }

    /** The schema name of a path's request body, e.g. {@code ActivationAllRequest} for {@code /v1/activation/all}. */
    static String requestOf(String path) {
        return ref(DOCUMENT.get("paths").get(path).get("post").get("requestBody").get("content").get("application/json").get("schema"));
    }

    /** The schema name of a path's response for {@code status}. */
    static String responseOf(String path, String method, int status) {
        return ref(DOCUMENT.get("paths").get(path).get(method).get("responses").get(String.valueOf(status)).get("content").get("application/json").get("schema"));
    }

    private static String ref(JsonNode schema) { return schema.get("$ref").asText().replace("#/components/schemas/", ""); }

    private static Schema schema(String name) {
        return SCHEMAS.computeIfAbsent(name, n -> {
            if (!DOCUMENT.get("components").get("schemas").has(n)) throw new IllegalArgumentException("no schema " + n);
            ObjectNode root = Json.MAPPER.createObjectNode();
            root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            root.put("$ref", "#/components/schemas/" + n);
            root.set("components", DOCUMENT.get("components"));
            return REGISTRY.getSchema(SchemaLocation.of("https://loupe.invalid/neuronpedia/" + n + ".json"), root);
        });
    }

    /** The validation errors of {@code instance} against the named component schema (empty when valid). */
    static List<Error> errors(String name, JsonNode instance) { return schema(name).validate(instance); }

    static void assertValid(String name, JsonNode instance) {
        List<Error> errors = errors(name, instance);
        if (!errors.isEmpty()) fail(name + " schema: " + errors + "\n" + instance.toString().substring(0, Math.min(2000, instance.toString().length())));
    }
}
