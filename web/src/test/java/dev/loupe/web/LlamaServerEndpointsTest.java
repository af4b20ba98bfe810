package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.Model;
import dev.loupe.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static dev.loupe.web.ApiTest.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /v1/completions}, {@code /tokenize} and {@code /detokenize} as llama-server serves them, checked against the
 * model module's own tokenizer and generation; and {@code /api/documents}, the wider context of an example.
 */
class LlamaServerEndpointsTest {
    static LoupeServer server;
    static String base;
    static Model model;

    @BeforeAll
    static void start() throws IOException {
        server = TinyRun.sharedLiveServer();
        base = server.url().replaceAll("/$", "");
        model = Model.load(TinyRun.model(), 1);
    }

    @AfterAll
    static void stop() { if (model != null) model.close(); }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    @Test
    void completionsContinueThePromptAsTheModelDoes() throws IOException {
        Tokenizer tok = model.tokenizer();
        String expected = model.generate(tok.encode("the golden gate"), Generation.greedy(12), HookSet.empty(), null).text(tok);
        JsonNode whole = Http.post(base, "/v1/completions", "{\"prompt\": \"the golden gate\", \"max_tokens\": 12, \"temperature\": 0}").json();
        assertEquals("text_completion", whole.get("object").asText());
        assertTrue(whole.get("id").asText().startsWith("cmpl-"));
        assertEquals(expected, whole.get("choices").get(0).get("text").asText());
        assertEquals(tok.encode("the golden gate").length, whole.get("usage").get("prompt_tokens").asInt());

        // Streamed: the pieces add up to the same text, then a finish reason, then [DONE].
        Http.Reply r = Http.post(base, "/v1/completions", "{\"prompt\": \"the golden gate\", \"max_tokens\": 12, \"temperature\": 0, \"stream\": true}");
        assertTrue(r.contentType().startsWith("text/event-stream"), r.contentType());
        StringBuilder text = new StringBuilder();
        String finish = null;
        List<String> data = new ArrayList<>();
        for (String line : r.body().split("\n")) if (line.startsWith("data: ")) data.add(line.substring(6));
        assertEquals("[DONE]", data.getLast());
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode c = Json.MAPPER.readTree(d).get("choices").get(0);
            text.append(c.get("text").asText());
            if (!c.get("finish_reason").isNull()) finish = c.get("finish_reason").asText();
        }
        assertEquals(expected, text.toString());
        assertEquals(whole.get("choices").get(0).get("finish_reason").asText(), finish);

        // Token ids in, echo of the prompt, and the refusals.
        int[] ids = tok.encode("the city");
        StringBuilder idList = new StringBuilder();
        for (int id : ids) idList.append(idList.isEmpty() ? "" : ",").append(id);
        JsonNode byIds = Http.post(base, "/v1/completions", "{\"prompt\": [" + idList + "], \"max_tokens\": 5, \"temperature\": 0, \"echo\": true}").json();
        String cont = model.generate(ids, Generation.greedy(5), HookSet.empty(), null).text(tok);
        assertEquals("the city" + cont, byIds.get("choices").get(0).get("text").asText());
        assertError(Http.post(base, "/v1/completions", "{\"prompt\": \"x\", \"suffix\": \"y\"}"), 400, "'suffix'");
        assertError(Http.post(base, "/v1/completions", "{\"prompt\": [\"a\", \"b\"]}"), 400, "one per request");
        assertError(Http.post(base, "/v1/completions", "{\"max_tokens\": 3}"), 400, "'prompt'");
    }

    @Test
    void aCompletionWithoutMaxTokensStopsAtTheDocumentedDefault() {
        JsonNode r = Http.post(base, "/v1/completions", "{\"prompt\": \"the\", \"ignore_eos\": true}").json();
        assertEquals(Requests.DEFAULT_MAX_TOKENS, r.get("usage").get("completion_tokens").asInt());
        assertEquals("length", r.get("choices").get(0).get("finish_reason").asText());
        assertEquals(Requests.DEFAULT_MAX_TOKENS, Http.get(base, "/api/info").json().get("limits").get("default_max_tokens").asInt());
    }

    @Test
    void tokenizeAndDetokenizeAsLlamaServer() {
        Tokenizer tok = model.tokenizer();
        String text = "The bridge <start_of_turn> é";
        assertArrayEquals(tok.encode(text, false), ints(Http.post(base, "/tokenize", "{\"content\": \"" + text + "\"}").json().get("tokens")));
        int[] withBos = ints(Http.post(base, "/tokenize", "{\"content\": \"" + text + "\", \"add_special\": true}").json().get("tokens"));
        assertEquals(tok.bosId(), withBos[0]);
        JsonNode pieces = Http.post(base, "/tokenize", "{\"content\": \"the bridge\", \"with_pieces\": true}").json().get("tokens");
        StringBuilder joined = new StringBuilder();
        for (JsonNode p : pieces) {
            assertTrue(p.get("id").isInt());
            joined.append(p.get("piece").asText());
        }
        assertEquals(" the bridge".strip(), joined.toString().strip());
        JsonNode back = Http.post(base, "/detokenize", "{\"tokens\": " + java.util.Arrays.toString(tok.encode(text, false)) + "}").json();
        assertEquals(tok.decode(tok.encode(text, false), false), back.get("content").asText());
        assertEquals("", Http.post(base, "/detokenize", "{\"tokens\": []}").json().get("content").asText());
        assertError(Http.post(base, "/detokenize", "{\"tokens\": [99999999]}"), 400, "tokens[0]");
        assertError(Http.post(base, "/tokenize", "{\"text\": \"x\"}"), 400, "'text'");
    }

    @Test
    void aDocumentShowsAnExampleInWiderContext() {
        int feature = Http.get(base, "/api/features?sort=max_activation&limit=1").json().get("rows").get(0).get("feature_id").asInt();
        JsonNode ex = Http.get(base, "/api/features/" + feature + "?context=2").json().get("examples").get(0);
        int doc = ex.get("doc_id").asInt(), pos = ex.get("pos").asInt();
        JsonNode d = Http.get(base, "/api/documents/" + doc + "?feature=" + feature).json();
        assertEquals(doc, d.get("doc_id").asInt());
        assertEquals(d.get("length").asInt(), d.get("tokens").size(), "the whole (short) document");
        // The example's ±2 window is the same tokens and activations as the document at those positions.
        for (JsonNode t : ex.get("window")) {
            JsonNode same = d.get("tokens").get(t.get("pos").asInt());
            assertEquals(t.get("token_id").asInt(), same.get("token_id").asInt());
            assertEquals(t.get("activation").floatValue(), same.get("activation").floatValue());
        }
        assertEquals(ex.get("activation").floatValue(), d.get("tokens").get(pos).get("activation").floatValue());
        JsonNode part = Http.get(base, "/api/documents/" + doc + "?from=1&to=3").json();
        assertEquals(2, part.get("tokens").size());
        assertEquals(1, part.get("tokens").get(0).get("pos").asInt());
        assertError(Http.get(base, "/api/documents/999999"), 404, "document 999999");
        assertError(Http.get(base, "/api/documents/x"), 400, "integer");
        assertError(Http.get(base, "/api/documents/0?feature=99999"), 400, "'feature'");
    }
}
