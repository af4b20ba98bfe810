package dev.loupe.web;

import dev.loupe.model.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;
import dev.loupe.model.io.Npy;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.sae.Sae;
import dev.loupe.sae.Steering;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON API and the OpenAI endpoints on a live server over the tiny-a run. */
class ApiTest {
    static LoupeServer server;
    static String base;

    @BeforeAll
    static void start() throws IOException {
        server = TinyRun.liveServer(TinyRun.testLimits());
        base = server.url().replaceAll("/$", "");
    }

    @AfterAll
    static void stop() { if (server != null) server.close(); }

    // ---- browsing ---------------------------------------------------------------------------------------

    @Test
    void infoAndOpenApi() {
        JsonNode info = Http.get(base, "/api/info").json();
        assertTrue(info.get("live").asBoolean());
        assertEquals(TinyRun.FEATURES, info.get("features").asInt());
        assertEquals(TinyRun.HOOK, info.get("hook").asText());
        JsonNode doc = Http.get(base, "/api/openapi.json").json();
        assertEquals("3.1.0", doc.get("openapi").asText());
        for (String p : List.of("/api/features", "/api/features/{id}", "/api/inspect", "/api/search", "/api/steer", "/api/shield", "/v1/chat/completions", "/v1/models")) {
            assertTrue(doc.get("paths").has(p), "OpenAPI lists " + p);
        }
    }

    /** The shield endpoint checks its fields, and a vocabulary without Gemma's Yes/No pieces is refused in one line. */
    @Test
    void shieldNeedsAPolicyAPromptAndGemmasYesAndNo() {
        Http.Reply noPolicy = Http.post(base, "/api/shield", "{\"prompt\": \"hello\"}");
        assertEquals(400, noPolicy.status(), noPolicy.body());
        assertTrue(noPolicy.body().contains("policy"), noPolicy.body());
        Http.Reply blank = Http.post(base, "/api/shield", "{\"prompt\": \" \", \"policy\": \"p\"}");
        assertEquals(400, blank.status(), blank.body());
        assertTrue(blank.body().contains("prompt"), blank.body());
        // tiny-a's 384-piece vocabulary has no "Yes"; the real Gemma tokenizer's case is ShieldCommandTest's.
        Http.Reply noYes = Http.post(base, "/api/shield", "{\"prompt\": \"hello\", \"policy\": \"be kind\"}");
        assertEquals(400, noYes.status(), noYes.body());
        assertTrue(noYes.body().contains("no \\\"Yes\\\" piece"), noYes.body());
    }

    @Test
    void featureListSortsFiltersAndPages() {
        JsonNode all = Http.get(base, "/api/features?sort=feature_id&order=asc&limit=500").json();
        assertEquals(TinyRun.FEATURES, all.get("total").asInt());
        assertEquals(TinyRun.FEATURES, all.get("rows").size());
        for (int i = 0; i < TinyRun.FEATURES; i++) assertEquals(i, all.get("rows").get(i).get("feature_id").asInt());

        JsonNode byDensity = Http.get(base, "/api/features?sort=density&order=desc&limit=40&offset=5").json();
        assertEquals(40, byDensity.get("rows").size());
        double prev = Double.POSITIVE_INFINITY;
        for (JsonNode r : byDensity.get("rows")) {
            double d = r.get("density").asDouble();
            assertTrue(d <= prev, "densities descend");
            prev = d;
        }
        long dead = 0;
        for (JsonNode r : all.get("rows")) if (r.get("fire_count").asLong() == 0) dead++;
        JsonNode alive = Http.get(base, "/api/features?hide_dead=true&limit=500").json();
        assertEquals(TinyRun.FEATURES - dead, alive.get("total").asInt());
        for (JsonNode r : alive.get("rows")) assertTrue(r.get("fire_count").asLong() > 0);

        // Filtering by a promoted token: every row returned promotes a token containing the text.
        String token = all.get("rows").get(3).get("top_promoted").get(0).get("text").asText().strip();
        JsonNode q = Http.get(base, "/api/features?limit=500&q=" + java.net.URLEncoder.encode(token, StandardCharsets.UTF_8)).json();
        assertTrue(q.get("total").asInt() >= 1);
        for (JsonNode r : q.get("rows")) {
            boolean any = false;
            for (JsonNode t : r.get("top_promoted")) any |= t.get("text").asText().toLowerCase().contains(token.toLowerCase());
            assertTrue(any, "feature " + r.get("feature_id") + " promotes a token containing '" + token + "'");
        }
    }

    /** The run's example activations agree with the live model on the same tokens: two separate code paths. */
    @Test
    void cardExamplesAgreeWithTheLiveModel() throws IOException {
        JsonNode top = Http.get(base, "/api/features?sort=max_activation&order=desc&limit=1").json().get("rows").get(0);
        int f = top.get("feature_id").asInt();
        JsonNode card = Http.get(base, "/api/features/" + f + "?context=4").json();
        assertEquals(f, card.get("summary").get("feature_id").asInt());
        assertTrue(card.get("histogram").get("counts").size() > 0);
        assertEquals(card.get("histogram").get("counts").size() + 1, card.get("histogram").get("edges").size());
        assertEquals(10, card.get("summary").get("top_promoted").size());
        JsonNode first = card.get("examples").get(0);
        assertEquals("top", first.get("kind").asText());
        assertEquals(top.get("max_activation").floatValue(), first.get("activation").floatValue(), 1e-6f, "the top example is the max activation");
        int doc = first.get("doc_id").asInt(), pos = first.get("pos").asInt();
        boolean centred = false;
        for (JsonNode t : first.get("window")) {
            if (t.get("pos").asInt() == pos) {
                centred = true;
                assertEquals(first.get("activation").floatValue(), t.get("activation").floatValue(), 1e-6f);
            }
        }
        assertTrue(centred, "the window holds the example's token");

        List<ContextToken> prefix;
        try (FeatureStore store = FeatureStore.open(TinyRun.run())) {
            prefix = store.tokens(doc, 0, pos + 1);
        }
        ObjectNode req = Json.MAPPER.createObjectNode();
        req.put("feature", f);
        req.put("top_k", 3);
        var ids = req.putArray("tokens");
        for (ContextToken t : prefix) ids.add(t.tokenId());
        JsonNode inspected = Http.post(base, "/api/inspect", Json.write(req)).json();
        float live = inspected.get("tokens").get(pos).get("value").floatValue();
        assertEquals(first.get("activation").floatValue(), live, 1e-3f * Math.max(1, Math.abs(live)), "stored vs live activation of feature " + f);

        JsonNode nn = Http.get(base, "/api/features/" + f + "/neighbours?k=5").json().get("neighbours");
        assertEquals(5, nn.size());
        for (JsonNode n : nn) {
            assertNotEquals(f, n.get("feature_id").asInt());
            assertTrue(Math.abs(n.get("cosine").asDouble()) <= 1.0001);
        }
        assertEquals(f, Http.get(base, "/api/features/" + f + "/logits").json().get("feature").asInt());
        assertTrue(Http.get(base, "/api/features/" + f + "/examples").json().get("examples").size() > 0);
        assertTrue(Http.get(base, "/api/features/" + f + "/histogram").json().get("histogram").has("edges"));
    }

    // ---- live: inspection against the fixture's numpy reference -----------------------------------------

    @Test
    void inspectMatchesTheFixturesFeatureActivations() throws IOException {
        Npy.Array tokens = Npy.read(Fixtures.file("tiny-a/tokens.npy"));
        Npy.Array expected = Npy.read(Fixtures.file("tiny-a/sae/feature_acts.npy"));   // [40, 256], float64 numpy forward
        ObjectNode req = Json.MAPPER.createObjectNode();
        req.put("top_k", 64);
        var ids = req.putArray("tokens");
        for (int t : tokens.ints()) ids.add(t);
        JsonNode r = Http.post(base, "/api/inspect", Json.write(req)).json();
        assertEquals(40, r.get("tokens").size());
        for (int p = 0; p < 40; p++) {
            float[] got = new float[TinyRun.FEATURES];
            for (JsonNode x : r.get("tokens").get(p).get("top")) got[x.get("feature").asInt()] = x.get("activation").floatValue();
            int active = 0;
            for (int f = 0; f < TinyRun.FEATURES; f++) {
                float want = expected.get(p, f);
                if (want != 0) active++;
                assertEquals(want, got[f], 2e-3f * Math.max(1, Math.abs(want)), "position " + p + " feature " + f);
            }
            assertTrue(active <= 64, "top_k 64 covers every active feature at position " + p);
        }
    }

    @Test
    void searchFindsTheStrongestFeatures() {
        JsonNode r = Http.post(base, "/api/search", "{\"text\": \"the golden gate bridge\", \"k\": 5}").json();
        JsonNode overall = r.get("overall");
        assertEquals(5, overall.size());
        double prev = Double.POSITIVE_INFINITY;
        for (JsonNode f : overall) {
            assertTrue(f.get("activation").asDouble() <= prev);
            prev = f.get("activation").asDouble();
        }
        // The best feature's maximum is what inspect reports for it on the same text (bos left out).
        int best = overall.get(0).get("feature_id").asInt();
        JsonNode acts = Http.post(base, "/api/features/" + best + "/activations", "{\"text\": \"the golden gate bridge\"}").json();
        assertEquals(overall.get(0).get("activation").floatValue(), acts.get("max").floatValue(), 1e-5f);
    }

    // ---- bad input -----------------------------------------------------------------------------------------

    static void assertError(Http.Reply r, int status, String messagePart) {
        assertEquals(status, r.status(), "status for: " + r.body());
        assertTrue(r.contentType().startsWith("application/json"), "JSON error, got " + r.contentType() + ": " + r.body());
        JsonNode e = r.json().get("error");
        assertTrue(e != null && e.hasNonNull("message") && e.hasNonNull("type"), "error shape: " + r.body());
        assertFalse(r.body().contains("\tat ") || r.body().contains("Exception"), "no stack trace or exception name: " + r.body());
        if (messagePart != null) assertTrue(e.get("message").asText().contains(messagePart), "message mentions '" + messagePart + "': " + e);
    }

    @Test
    void badInputGetsAClearFourHundredAndTheServerKeepsServing() {
        String steer = "{\"prompt\": \"hi\", \"max_tokens\": 2, \"steer\": [{\"feature\": %s, \"mode\": \"add\", \"strength\": %s}]}";
        assertError(Http.post(base, "/api/steer", "{\"prompt\": \"hi\", "), 400, "not valid JSON");
        assertError(Http.post(base, "/api/steer", "[1, 2]"), 400, "JSON object");
        assertError(Http.post(base, "/api/steer", ""), 400, "empty");
        assertError(Http.post(base, "/api/steer", steer.formatted("3", "NaN")), 400, "not valid JSON");
        assertError(Http.post(base, "/api/steer", steer.formatted("3", "\"NaN\"")), 400, "steer[0].strength");
        assertError(Http.post(base, "/api/steer", steer.formatted("3", "1e400")), 400, "steer[0].strength");
        assertError(Http.post(base, "/api/steer", steer.formatted("3", "5000")), 400, "steer[0].strength");
        assertError(Http.post(base, "/api/steer", steer.formatted("3", "null")), 400, "steer[0].strength");
        assertError(Http.post(base, "/api/steer", steer.formatted("99999", "10")), 404, "feature 99999");
        assertError(Http.post(base, "/api/steer", steer.formatted("-1", "10")), 404, "feature -1");
        assertError(Http.post(base, "/api/steer", steer.formatted("2.5", "10")), 400, "integer");
        assertError(Http.post(base, "/api/steer", "{\"prompt\": \"hi\", \"steer\": [{\"feature\": 1, \"mode\": \"boost\", \"strength\": 1}]}"), 400, "mode");
        assertError(Http.post(base, "/api/steer", "{\"prompt\": \"hi\", \"steer\": []}"), 400, "at least one");
        assertError(Http.post(base, "/api/steer", "{\"prompt\": \"hi\", \"steer\": [{\"feature\": 1, \"strength\": 1}], \"temperature\": 3}"), 400, "temperature");
        assertError(Http.post(base, "/api/steer", "{\"prompt\": \"hi\", \"steer\": [{\"feature\": 1, \"strength\": 1}], \"max_tokens\": 0}"), 400, "max_tokens");
        assertError(Http.post(base, "/api/steer", "{\"prompt\": \"hi\", \"steer\": [{\"feature\": 1, \"strength\": 1}], \"max_tokens\": 100000}"), 400, "max_tokens");
        assertError(Http.post(base, "/api/features/1/activations", "{\"text\": 42}"), 400, "'text' must be a string");

        // Oversized prompts: by tokens, by characters, and a body over the size limit.
        assertError(Http.post(base, "/api/inspect", "{\"text\": \"" + "word ".repeat(300) + "\"}"), 413, "at most 256 tokens");
        assertError(Http.post(base, "/api/inspect", "{\"text\": \"" + "x".repeat(100_000) + "\"}"), 413, "characters");
        assertError(Http.post(base, "/api/inspect", "{\"text\": \"" + "x".repeat(2 << 20) + "\"}"), 413, null);
        assertError(Http.post(base, "/api/inspect", "{\"tokens\": [2, 99999]}"), 400, "tokens[1]");

        // Unknown features, malformed ids and query parameters.
        assertError(Http.get(base, "/api/features/99999"), 404, "feature 99999");
        assertError(Http.get(base, "/api/features/abc"), 400, "integer");
        assertError(Http.get(base, "/api/features/1/neighbours?k=0"), 400, "'k'");
        assertError(Http.get(base, "/api/features?limit=abc"), 400, "'limit'");
        assertError(Http.get(base, "/api/features?sort=bogus"), 400, "sort");
        assertError(Http.get(base, "/api/features?order=up"), 400, "order");
        assertError(Http.get(base, "/api/features?min_density=NaN"), 400, "min_density");
        assertError(Http.get(base, "/api/nope"), 404, null);
        assertError(Http.get(base, "/api/inspect"), 405, null);

        // Path traversal and odd paths, sent byte for byte.
        for (String p : List.of("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fpom.xml", "/%2e%2e%2fpom.xml",
                "/public/../app.js", "/app.js%00.html", "/..\\..\\pom.xml", "/dev/loupe/web/openapi.json", "/LoupeServer.class",
                "/feature.html/..", "/%252e%252e/pom.xml")) {
            Http.Reply r = Http.raw(server.port(), p);
            assertTrue(r.status() >= 400 && r.status() < 500, p + " -> " + r.status());
            assertTrue(r.contentType().equals("application/json"), p + " answered JSON, got " + r.contentType() + ": " + r.body());
            assertFalse(r.body().contains("root:") || r.body().contains("<project"), p + " leaked a file");
        }
        assertError(Http.get(base, "/nope.html"), 404, "nope.html");
        assertEquals(200, Http.get(base, "/").status());
        assertTrue(Http.get(base, "/app.js").contentType().startsWith("text/javascript"));

        // Still serving.
        assertEquals(200, Http.get(base, "/api/info").status());
        assertEquals(200, Http.post(base, "/api/inspect", "{\"text\": \"still here\"}").status());
    }

    @Test
    void chatBadInputUsesOpenAisErrorShape() {
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": []}"), 400, "messages");
        assertError(Http.post(base, "/v1/chat/completions", "{\"model\": \"x\"}"), 400, "messages");
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\"}]}"), 400, "messages[0].content");
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}"), 400, "role");
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}"), 400, "last message");
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 2}"), 400, "'n'");
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": 5}"), 400, "stop");
        assertError(Http.post(base, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"loupe\": {\"steer\": [{\"feature\": 1, \"strength\": \"x\"}]}}"), 400, "loupe.steer[0].strength");
        assertError(Http.get(base, "/v1/chat/completions"), 405, null);
        JsonNode models = Http.get(base, "/v1/models").json();
        assertEquals("list", models.get("object").asText());
        assertEquals(1, models.get("data").size());
    }

    // ---- OpenAI-compatible chat ------------------------------------------------------------------------

    /** The answer an independent greedy generation gives for the same conversation (model module, no web code). */
    private static String expectedGreedy(List<ChatTemplate.Turn> turns, int maxTokens, HookSet hooks) {
        try (Model model = Model.load(TinyRun.model(), 1)) {
            int[] ids = ChatTemplate.encode(model.tokenizer(), turns, true);
            return model.generate(ids, Generation.greedy(maxTokens), hooks, null).text(model.tokenizer());
        }
    }

    @Test
    void chatCompletionsStreamingAndNotAgreeWithTheModel() throws Exception {
        OpenAiClient client = new OpenAiClient(base + "/v1");
        ObjectNode req = OpenAiClient.request("gemma-2", "system", "Answer briefly.", "user", "Name a bridge.");
        req.put("temperature", 0);
        req.put("max_tokens", 24);
        OpenAiClient.Completion whole = client.create(req.deepCopy());
        String expected = expectedGreedy(List.of(ChatTemplate.Turn.system("Answer briefly."), ChatTemplate.Turn.user("Name a bridge.")), 24, HookSet.empty());
        assertEquals(expected, whole.content());
        assertTrue(whole.completionTokens() >= 1 && whole.completionTokens() <= 24);
        assertEquals("chat.completion", whole.raw().get("object").asText());
        assertTrue(whole.raw().get("id").asText().startsWith("chatcmpl-"));

        ObjectNode streamReq = req.deepCopy();
        streamReq.putObject("stream_options").put("include_usage", true);
        OpenAiClient.Streamed streamed = client.stream(streamReq);
        assertEquals(whole.content(), streamed.content());
        assertEquals(whole.finishReason(), streamed.finishReason());
        assertEquals("assistant", streamed.chunks().getFirst().get("choices").get(0).get("delta").get("role").asText());
        assertEquals(whole.completionTokens(), streamed.usage().get("completion_tokens").asInt());
        assertEquals(whole.promptTokens(), streamed.usage().get("prompt_tokens").asInt());

        // A stop string cuts the answer before it, in both forms.
        if (whole.content().length() > 6) {
            String stop = whole.content().substring(3, 5);
            int at = whole.content().indexOf(stop);
            ObjectNode stopReq = req.deepCopy();
            stopReq.putArray("stop").add(stop);
            OpenAiClient.Completion cut = client.create(stopReq.deepCopy());
            assertEquals(whole.content().substring(0, at), cut.content());
            assertEquals("stop", cut.finishReason());
            assertEquals(cut.content(), client.stream(stopReq).content());
        }
    }

    @Test
    void chatSteeringExtensionSteersAsTheSaeDirectionDoes() throws Exception {
        OpenAiClient client = new OpenAiClient(base + "/v1");
        ObjectNode req = OpenAiClient.request("any", "user", "Tell me about the city.");
        req.put("temperature", 0);
        req.put("max_tokens", 16);
        req.putObject("loupe").putArray("steer").addObject().put("feature", 7).put("mode", "add").put("strength", 60);
        String steered = client.create(req).content();
        String expected;
        try (Model model = Model.load(TinyRun.model(), 1); Sae sae = Sae.load(TinyRun.sae(), TinyRun.HOOK, model.backend())) {
            int[] ids = ChatTemplate.encode(model.tokenizer(), List.of(ChatTemplate.Turn.user("Tell me about the city.")), true);
            expected = model.generate(ids, Generation.greedy(16), Steering.add(sae, 7, 60f).hookSet(), null).text(model.tokenizer());
        }
        assertEquals(expected, steered);
        assertNotEquals(expectedGreedy(List.of(ChatTemplate.Turn.user("Tell me about the city.")), 16, HookSet.empty()), steered,
                "steering at strength 60 changes the tiny model's answer");
    }

    /** llama-server's README example, byte for byte but for the port: a system and a user message. */
    @Test
    void llamaServerCurlExampleWorksUnchanged() throws Exception {
        String body = """
                {
                "model": "gpt-3.5-turbo",
                "messages": [
                {
                    "role": "system",
                    "content": "You are ChatGPT, an AI assistant. Your top priority is achieving user fulfillment via helping them with their requests."
                },
                {
                    "role": "user",
                    "content": "Write a limerick about python exceptions"
                }
                ]
                }""";
        Process p = new ProcessBuilder("curl", "-s", "http://127.0.0.1:" + server.port() + "/v1/chat/completions",
                "-H", "Content-Type: application/json", "-H", "Authorization: Bearer no-key", "-d", body).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        JsonNode json = Json.MAPPER.readTree(out);
        assertEquals("chat.completion", json.get("object").asText(), out);
        assertEquals("assistant", json.get("choices").get(0).get("message").get("role").asText());
        assertTrue(json.get("choices").get(0).get("message").get("content").isTextual());
        assertTrue(json.get("usage").get("prompt_tokens").asInt() > 20, "the system text is in the prompt");
    }

    // ---- steering stream ------------------------------------------------------------------------------

    record Event(String name, JsonNode data) {}

    static List<Event> events(String sse) throws IOException {
        List<Event> out = new ArrayList<>();
        for (String block : sse.split("\n\n")) {
            if (block.isBlank()) continue;
            String name = null, data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) name = line.substring(7);
                if (line.startsWith("data: ")) data = line.substring(6);
            }
            out.add(new Event(name, Json.MAPPER.readTree(data)));
        }
        return out;
    }

    @Test
    void steerStreamsBothContinuationsWithActivations() throws IOException {
        Http.Reply r = Http.post(base, "/api/steer",
                "{\"prompt\": \"the city\", \"steer\": [{\"feature\": 7, \"mode\": \"add\", \"strength\": 60}], \"temperature\": 0, \"max_tokens\": 12, \"ignore_eos\": true}");
        assertEquals(200, r.status(), r.body());
        assertTrue(r.contentType().startsWith("text/event-stream"));
        List<Event> ev = events(r.body());
        assertEquals("start", ev.getFirst().name());
        String[] texts = new String[2];
        int[] activations = new int[2];
        for (Event e : ev) {
            int run = "steered".equals(e.data().path("run").asText()) ? 1 : 0;
            if (e.name().equals("activation")) {
                assertEquals(activations[run]++, e.data().get("index").asInt());
                assertEquals(1, e.data().get("values").size());
            }
            if (e.name().equals("done")) texts[run] = e.data().get("text").asText();
        }
        assertEquals(12, activations[0]);
        assertEquals(12, activations[1]);
        String expectedSteered, expectedPlain;
        try (Model model = Model.load(TinyRun.model(), 1); Sae sae = Sae.load(TinyRun.sae(), TinyRun.HOOK, model.backend())) {
            int[] ids = model.tokenizer().encode("the city");
            Generation g = Generation.greedy(12).withStops(java.util.Set.of());
            expectedPlain = model.generate(ids, g, HookSet.empty(), null).text(model.tokenizer());
            expectedSteered = model.generate(ids, g, Steering.add(sae, 7, 60f).hookSet(), null).text(model.tokenizer());
        }
        assertEquals(expectedPlain, texts[0]);
        assertEquals(expectedSteered, texts[1]);
    }

    // ---- the queue ------------------------------------------------------------------------------------

    @Test
    void aBurstOfSteeringRequestsGetsSomeTooManyRequestsAndNoServerErrors() throws Exception {
        try (LoupeServer busy = TinyRun.liveServer(TinyRun.testLimits().withConcurrency(1).withQueueCapacity(1))) {
            String b = busy.url().replaceAll("/$", "");
            String body = "{\"prompt\": \"the bridge\", \"steer\": [{\"feature\": 7, \"strength\": 40}], \"max_tokens\": 1500, \"ignore_eos\": true, \"seed\": 1}";
            int n = 10;
            ExecutorService pool = Executors.newFixedThreadPool(n);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < n; i++) replies.add(pool.submit(() -> {
                go.await();
                return Http.post(b, "/api/steer", body);
            }));
            go.countDown();
            int ok = 0, tooMany = 0;
            for (Future<Http.Reply> f : replies) {
                Http.Reply r = f.get(5, TimeUnit.MINUTES);
                assertTrue(r.status() < 500, "no 5xx: " + r.status() + " " + r.body());
                if (r.status() == 429) {
                    tooMany++;
                    assertError(r, 429, "busy");
                    assertTrue(Integer.parseInt(r.retryAfter()) >= 1, "Retry-After");
                } else {
                    assertEquals(200, r.status(), r.body());
                    assertTrue(r.body().contains("event: done"), "a complete stream");
                    ok++;
                }
            }
            pool.shutdown();
            assertTrue(tooMany >= 1, "some requests were refused (" + ok + " ok, " + tooMany + " 429)");
            assertTrue(ok >= 1, "some requests ran");
            assertEquals(200, Http.get(b, "/api/info").status());
            assertEquals(200, Http.post(b, "/api/steer", "{\"prompt\": \"x\", \"steer\": [{\"feature\": 1, \"strength\": 5}], \"max_tokens\": 2}").status());
        }
    }

    @Test
    void aClientThatLeavesMidStreamStopsItsGeneration() throws Exception {
        try (LoupeServer s = TinyRun.liveServer(TinyRun.testLimits().withConcurrency(1).withQueueCapacity(0))) {
            String b = s.url().replaceAll("/$", "");
            HttpRequest req = HttpRequest.newBuilder(URI.create(b + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\": \"user\", \"content\": \"go on\"}], \"stream\": true, \"max_tokens\": 4000, \"ignore_eos\": true, \"temperature\": 1, \"seed\": 3}"))
                    .build();
            HttpResponse<InputStream> r = Http.CLIENT.send(req, HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, r.statusCode());
            InputStream in = r.body();
            in.readNBytes(200);   // the first chunks
            in.close();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (s.clientsGone() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(1, s.clientsGone(), "the server noticed the client leave and stopped generating");
            // The slot is free again: with no queue, a busy server would answer 429.
            assertEquals(200, Http.post(b, "/api/inspect", "{\"text\": \"free again\"}").status());
        }
    }

    @Test
    void aRequestPastItsTimeLimitGetsFourOhEight() throws IOException {
        try (LoupeServer s = TinyRun.liveServer(TinyRun.testLimits().withRequestTimeout(Duration.ofNanos(1)))) {
            Http.Reply r = Http.post(s.url().replaceAll("/$", ""), "/api/inspect", "{\"text\": \"slow\"}");
            assertError(r, 408, "time limit");
        }
    }

    @Test
    void aServerWithoutAModelServesBrowsingAndExplainsTheLivePages() throws IOException {
        Path copy = TinyRun.browsingOnlyCopy();
        try (LoupeServer s = LoupeServer.start(ServerOptions.of(copy).withAddress("127.0.0.1", 0).withThreads(1))) {
            assertFalse(s.live());
            String b = s.url().replaceAll("/$", "");
            assertEquals(TinyRun.FEATURES, Http.get(b, "/api/features").json().get("total").asInt());
            assertEquals(200, Http.get(b, "/api/features/3").status());
            assertFalse(Http.get(b, "/api/info").json().get("live").asBoolean());
            assertError(Http.post(b, "/api/inspect", "{\"text\": \"x\"}"), 404, "--model");
            assertError(Http.post(b, "/api/steer", "{\"prompt\": \"x\"}"), 404, "--model");
            assertError(Http.get(b, "/v1/models"), 404, "--model");
            assertError(Http.get(b, "/api/features/3/neighbours"), 404, "--sae");
        }
    }
}
