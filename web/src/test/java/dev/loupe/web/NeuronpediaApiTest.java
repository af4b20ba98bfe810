package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Generation;
import dev.loupe.model.Model;
import dev.loupe.model.io.Npy;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.sae.Sae;
import dev.loupe.sae.Steering;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loupe's {@code /neuronpedia} endpoints on the tiny-a run: every request this test sends and every response it gets
 * is validated against Neuronpedia's own OpenAPI schemas ({@link NeuronpediaSchemas}); activations are checked
 * against the numpy reference of the SAE fixture, steering against the library's steering.
 */
class NeuronpediaApiTest {
    static LoupeServer server;
    static String base;
    static Model model;
    static Sae sae;
    /** tiny-a's SAE is 256 wide at layer 2, and not from Gemma Scope. */
    static final String SOURCE = "2-loupe-res-256";
    static final String MODEL = "tiny-a";

    @BeforeAll static void start() throws IOException {
        server = TinyRun.liveServer(TinyRun.testLimits());
        base = server.url().replaceAll("/$", "") + "/neuronpedia";
        model = Model.load(TinyRun.model(), 1);
        sae = Sae.load(TinyRun.sae(), TinyRun.HOOK, model.backend());
    }

    @AfterAll static void stop() {
        if (server != null) server.close();
        if (sae != null) sae.close();
        if (model != null) model.close();
    }

    /** Sends a request valid against its schema, and validates the response against the path's schema for its status. */
    static JsonNode call(String path, ObjectNode request, int status) {
        NeuronpediaSchemas.assertValid(NeuronpediaSchemas.requestOf(path), request);
        Http.Reply r = Http.post(base, path, request.toString());
        assertEquals(status, r.status(), path + ": " + r.body());
        JsonNode body = r.json();
        if (status == 200 || status == 422) NeuronpediaSchemas.assertValid(NeuronpediaSchemas.responseOf(path, "post", status), body);
        else assertTrue(body.get("error").isTextual(), r.body());
        return body;
    }

    static Npy.Array npy(java.nio.file.Path file) {
        try {
            return Npy.read(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static ObjectNode req() { return Json.MAPPER.createObjectNode().put("model", MODEL); }

    /**
     * A prompt that tokenizes to a prefix of the fixture's tokens, so activations compare with the numpy reference
     * (the model is causal: a prefix's activations are the whole sequence's first rows). The longest such prefix.
     */
    static String fixturePrompt() {
        int[] ids = fixtureTokens();
        for (int m = ids.length; m > 1; m--) {
            String text = model.tokenizer().decode(Arrays.copyOfRange(ids, 1, m));
            if (Arrays.equals(model.tokenizer().encode(text), Arrays.copyOf(ids, m))) return text;
        }
        throw new AssertionError("no prefix of the fixture's tokens round-trips through text");
    }

    static int[] fixtureTokens() { return npy(Fixtures.file("tiny-a/tokens.npy")).ints(); }

    /** How many of the fixture's tokens {@link #fixturePrompt} spells (with <bos>). */
    static int fixtureLength() { return model.tokenizer().encode(fixturePrompt()).length; }

    @Test void healthAndTokenize() {
        Http.Reply h = Http.get(base, "/health");
        assertEquals(200, h.status());
        NeuronpediaSchemas.assertValid(NeuronpediaSchemas.responseOf("/health", "get", 200), h.json());
        JsonNode t = call("/v1/tokenize", req().put("text", fixturePrompt()), 200);
        int[] expected = Arrays.copyOf(fixtureTokens(), fixtureLength());
        assertTrue(expected.length >= 5, "a usable prefix (" + expected.length + " tokens)");
        int[] got = new int[t.get("tokens").size()];
        for (int i = 0; i < got.length; i++) got[i] = t.get("tokens").get(i).asInt();
        assertArrayEquals(expected, got, "the fixture's text round-trips to its tokens");
        assertTrue(t.get("prependBos").asBoolean());
        assertEquals("<bos>", t.get("tokenStrings").get(0).asText());
        JsonNode noBos = call("/v1/tokenize", req().put("text", "hello").put("prependBos", false), 200);
        assertFalse(noBos.get("prependBos").asBoolean());
        assertTrue(noBos.get("tokens").size() >= 1 && noBos.get("tokens").get(0).asInt() != 2);
    }

    @Test void activationsMatchTheNumpyReference() {
        float[] acts = npy(TinyRun.sae().resolve("feature_acts.npy")).data();
        int n = fixtureLength();
        ObjectNode all = req().put("prompt", fixturePrompt()).put("sourceSet", "loupe-res-256").put("ignoreBos", false).put("numResults", 10);
        all.putArray("selectedSources").add(SOURCE);
        all.putArray("sortByTokenIndexes");
        JsonNode r = call("/v1/activation/all", all, 200);
        assertEquals(n, r.get("tokens").size());
        assertEquals(10, r.get("activations").size());
        double prev = Double.POSITIVE_INFINITY;
        for (JsonNode f : r.get("activations")) {
            int k = f.get("index").asInt();
            assertEquals(SOURCE, f.get("source").asText());
            double max = 0;
            int arg = 0;
            for (int p = 0; p < n; p++) {
                assertEquals(acts[p * 256 + k], f.get("values").get(p).asDouble(), 5e-3, "feature " + k + " at " + p);
                if (acts[p * 256 + k] > max) { max = acts[p * 256 + k]; arg = p; }
            }
            assertEquals(max, f.get("maxValue").asDouble(), 5e-3);
            assertEquals(arg, f.get("maxValueIndex").asInt());
            assertTrue(f.get("maxValue").asDouble() <= prev, "sorted by max, descending");
            prev = f.get("maxValue").asDouble();
        }
        // The reference's best feature by max activation comes first.
        int best = 0;
        float bestMax = -1;
        for (int k = 0; k < 256; k++) for (int p = 0; p < n; p++) if (acts[p * 256 + k] > bestMax) { bestMax = acts[p * 256 + k]; best = k; }
        assertEquals(best, r.get("activations").get(0).get("index").asInt());

        // Sorted by the sum at two token positions; BOS ignored; every source when none is selected.
        ObjectNode sorted = req().put("prompt", fixturePrompt()).put("sourceSet", "loupe-res-256").put("ignoreBos", true);
        sorted.putArray("selectedSources");
        sorted.putArray("sortByTokenIndexes").add(2).add(4);
        JsonNode s = call("/v1/activation/all", sorted, 200);
        assertEquals(25, s.get("activations").size(), "numResults defaults to 25");
        JsonNode first = s.get("activations").get(0);
        assertEquals(first.get("values").get(2).asDouble() + first.get("values").get(4).asDouble(), first.get("sumValues").asDouble(), 1e-4);
        assertEquals(0.0, first.get("values").get(0).asDouble(), 0.0, "the BOS column is zeroed");

        ObjectNode single = req().put("prompt", fixturePrompt()).put("source", SOURCE).put("index", String.valueOf(best));
        JsonNode one = call("/v1/activation/single", single, 200);
        for (int p = 0; p < n; p++) assertEquals(acts[p * 256 + best], one.get("activation").get("values").get(p).asDouble(), 5e-3);
        assertTrue(one.get("tokensIsSpecial").get(0).asBoolean());
        assertFalse(one.get("tokensIsSpecial").get(1).asBoolean());

        // A raw vector at a hook: the projection of the residual on it (sae_input.npy is the residual at the hook).
        float[] x = npy(TinyRun.sae().resolve("sae_input.npy")).data();
        ObjectNode byVector = req().put("prompt", fixturePrompt()).put("hook", TinyRun.HOOK);
        ArrayNode v = byVector.putArray("vector");
        for (int i = 0; i < 64; i++) v.add(i % 3 == 0 ? 1.0 : -0.5);
        JsonNode proj = call("/v1/activation/single", byVector, 200);
        for (int p = 0; p < n; p++) {
            double dot = 0;
            for (int i = 0; i < 64; i++) dot += x[p * 64 + i] * (i % 3 == 0 ? 1.0 : -0.5);
            assertEquals(dot, proj.get("activation").get("values").get(p).asDouble(), 2e-2 * (1 + Math.abs(dot)));
        }

        ObjectNode topk = req().put("prompt", fixturePrompt()).put("source", SOURCE).put("ignoreBos", true).put("topK", 3);
        JsonNode tk = call("/v1/activation/topk-by-token", topk, 200);
        assertEquals(n - 1, tk.get("results").size());
        assertEquals(n - 1, tk.get("tokens").size());
        for (JsonNode res : tk.get("results")) {
            int p = res.get("tokenPosition").asInt();
            float[] row = Arrays.copyOfRange(acts, p * 256, p * 256 + 256);
            float[] sortedRow = row.clone();
            Arrays.sort(sortedRow);
            for (int j = 0; j < 3; j++) {
                JsonNode tf = res.get("topFeatures").get(j);
                assertEquals(sortedRow[255 - j], tf.get("activationValue").asDouble(), 5e-3, "rank " + j + " at " + p);
                assertEquals(row[tf.get("featureIndex").asInt()], tf.get("activationValue").asDouble(), 5e-3);
            }
        }
        assertEquals(1, tk.get("results").get(0).get("tokenPosition").asInt(), "positions stay indexes into the prompt");

        JsonNode vec = call("/v1/util/sae-vector", req().put("source", SOURCE).put("index", 11), 200);
        assertEquals(TinyRun.HOOK, vec.get("hookName").asText());
        for (int i = 0; i < 64; i++) assertEquals(sae.decoderWeight().get(11L * 64 + i), vec.get("vector").get(i).floatValue(), 0f);
    }

    static ObjectNode steerRequest(String method) {
        ObjectNode r = req().put("steerMethod", method).put("normalizeSteering", false).put("nCompletionTokens", 8).put("temperature", 0)
                .put("strengthMultiplier", 2).put("freqPenalty", 0).put("seed", 7);
        r.putArray("types").add("STEERED").add("DEFAULT");
        r.putArray("features").addObject().put("model", MODEL).put("source", SOURCE).put("index", 7).put("strength", 30);
        return r;
    }

    @Test void steeringCompletionsWithEveryMethod() {
        int[] ids = model.tokenizer().encode("the city");
        String plain = model.generate(ids, Generation.greedy(8), HookSet.empty(), null).text(model.tokenizer());
        for (Steering.Method m : Steering.Method.values()) {
            ObjectNode r = steerRequest(m.name()).put("prompt", "the city");
            JsonNode out = call("/v1/steer/completion", r, 200);
            assertEquals(2, out.get("outputs").size());
            assertEquals("STEERED", out.get("outputs").get(0).get("type").asText());
            String expected = model.generate(ids, Generation.greedy(8),
                    Steering.features(sae, Map.of(7, 30f), new Steering.Options(m, 2f, false)).hookSet(), null).text(model.tokenizer());
            assertEquals(expected, out.get("outputs").get(0).get("output").asText(), m.name());
            assertEquals(plain, out.get("outputs").get(1).get("output").asText());
            assertNull(out.get("outputs").get(0).get("logprobs"), "absent unless asked for");
        }
        // logprobs, streaming, raw vectors
        ObjectNode withLogprobs = steerRequest("SIMPLE_ADDITIVE").put("prompt", "the city").put("nLogprobs", 3);
        JsonNode lp = call("/v1/steer/completion", withLogprobs, 200);
        JsonNode first = lp.get("outputs").get(0).get("logprobs");
        assertEquals(8, first.size());
        assertEquals(3, first.get(0).get("topLogprobs").size());

        ObjectNode stream = steerRequest("SIMPLE_ADDITIVE").put("prompt", "the city").put("stream", true);
        NeuronpediaSchemas.assertValid("SteerCompletionRequest", stream);
        Http.Reply s = Http.post(base, "/v1/steer/completion", stream.toString());
        assertEquals(200, s.status());
        JsonNode last = null;
        int frames = 0;
        for (String line : s.body().split("\n")) {
            if (!line.startsWith("data: ")) continue;
            last = Json.object(line.substring(6));
            NeuronpediaSchemas.assertValid("SteerCompletionResponse", last);
            frames++;
        }
        assertTrue(frames >= 2);
        JsonNode whole = call("/v1/steer/completion", steerRequest("SIMPLE_ADDITIVE").put("prompt", "the city"), 200);
        assertEquals(whole, last, "the last frame is the whole answer");

        ObjectNode byVector = steerRequest("SIMPLE_ADDITIVE").put("prompt", "the city");
        byVector.remove("features");
        ArrayNode vec = byVector.putArray("vectors").addObject().put("hook", TinyRun.HOOK).put("strength", 30).putArray("steeringVector");
        for (float f : sae.direction(7)) vec.add(f);
        assertEquals(whole.get("outputs").get(0), call("/v1/steer/completion", byVector, 200).get("outputs").get(0), "a feature's vector steers as the feature");
    }

    @Test void steeringAChat() {
        ObjectNode r = steerRequest("ORTHOGONAL_DECOMP").put("steerSpecialTokens", false);
        r.putArray("prompt").addObject().put("role", "user").put("content", "Tell me about the city.");
        JsonNode out = call("/v1/steer/completion-chat", r, 200);
        int[] ids = ChatTemplate.encode(model.tokenizer(), List.of(ChatTemplate.Turn.user("Tell me about the city.")), true);
        HookSet hooks = Steering.features(sae, Map.of(7, 30f), new Steering.Options(Steering.Method.ORTHOGONAL_DECOMP, 2f, false))
                .skipping(Steering.positionsOf(ids, model.tokenizer()::isSpecial)).hookSet();
        String expected = model.generate(ids, Generation.greedy(8), hooks, null).text(model.tokenizer());
        JsonNode steered = out.get("outputs").get(0);
        assertEquals("STEERED", steered.get("type").asText());
        JsonNode turns = steered.get("chatTemplate");
        assertEquals(expected, turns.get(turns.size() - 1).get("content").asText());
        assertTrue(steered.get("raw").asText().startsWith(out.get("input").get("raw").asText()));
        assertTrue(out.get("input").get("raw").asText().contains("<start_of_turn>user"));
    }

    @Test void badRequestsGetNeuronpediasErrorShapes() {
        // Malformed: FastAPI's 422 shape (the request itself fails the schema, so it is sent without the request check).
        for (String body : new String[]{"{\"model\": \"tiny-a\"}", "{\"model\": \"tiny-a\", \"text\": 5}", "[1]", "not json"}) {
            Http.Reply r = Http.post(base, "/v1/tokenize", body);
            assertEquals(422, r.status(), body + " " + r.body());
            NeuronpediaSchemas.assertValid("HTTPValidationError", r.json());
        }
        // The validator does check: these break the schemas.
        assertFalse(NeuronpediaSchemas.errors("TokenizeResponse", Json.object("{\"tokens\": [\"a\"], \"tokenStrings\": [], \"prependBos\": true}")).isEmpty());
        assertFalse(NeuronpediaSchemas.errors("ActivationAllResponse", Json.object("{\"activations\": []}")).isEmpty());
        assertFalse(NeuronpediaSchemas.errors("SteerCompletionRequest", steerRequest("SIDEWAYS").put("prompt", "x")).isEmpty());
        // Well-formed but not servable: 400 {"error": ...}
        ObjectNode unknown = req().put("prompt", "x").put("source", "5-gemmascope-res-16k").put("index", "3");
        assertTrue(call("/v1/activation/single", unknown, 400).get("error").asText().contains(SOURCE));
        ObjectNode both = steerRequest("SIMPLE_ADDITIVE").put("prompt", "x");
        both.putArray("vectors");
        assertTrue(call("/v1/steer/completion", both, 400).get("error").asText().contains("exactly one"));
        ObjectNode outOfRange = req().put("source", SOURCE).put("index", 256);
        call("/v1/util/sae-vector", outOfRange, 400);
        ObjectNode badSort = req().put("prompt", "the city").put("sourceSet", "loupe-res-256").put("ignoreBos", false);
        badSort.putArray("selectedSources");
        badSort.putArray("sortByTokenIndexes").add(99);
        assertTrue(call("/v1/activation/all", badSort, 400).get("error").asText().contains("out of range"));
    }
}
