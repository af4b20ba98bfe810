package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeSplice;
import dev.loupe.sae.Steering;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every steering mode through the chat endpoint's {@code loupe.steer} and the steering stream, and
 * {@code logprobs}/{@code top_logprobs} as OpenAI returns them, on the tiny-a run. The steered answers are checked
 * against the library's steering (itself checked against hand-edited residuals in the sae module), the logprobs
 * against a log-softmax of the model's logits computed here.
 */
class SteeringApiTest {
    static LoupeServer server;
    static String base;
    static Model model;
    static Sae sae;
    static final String QUESTION = "Tell me about the city.";

    @BeforeAll static void start() throws IOException {
        server = TinyRun.liveServer(TinyRun.testLimits());
        base = server.url().replaceAll("/$", "");
        model = Model.load(TinyRun.model(), 1);
        sae = Sae.load(TinyRun.sae(), TinyRun.HOOK, model.backend());
    }

    @AfterAll static void stop() {
        if (server != null) server.close();
        if (sae != null) sae.close();
        if (model != null) model.close();
    }

    private static ObjectNode chat(int maxTokens) {
        ObjectNode req = Json.MAPPER.createObjectNode();
        req.putArray("messages").addObject().put("role", "user").put("content", QUESTION);
        req.put("temperature", 0).put("max_tokens", maxTokens);
        return req;
    }

    private static int[] chatIds() { return ChatTemplate.encode(model.tokenizer(), List.of(ChatTemplate.Turn.user(QUESTION)), true); }

    private static String expected(HookSet hooks, int maxTokens) {
        return model.generate(chatIds(), Generation.greedy(maxTokens), hooks, null).text(model.tokenizer());
    }

    private static String answer(ObjectNode req) {
        Http.Reply r = Http.post(base, "/v1/chat/completions", req.toString());
        assertEquals(200, r.status(), r.body());
        return r.json().get("choices").get(0).get("message").get("content").asText();
    }

    @Test void everySteeringModeThroughTheChatExtension() {
        String plain = expected(HookSet.empty(), 12);
        record Case(String mode, double strength, HookSet hooks) {}
        java.util.BitSet special = Steering.positionsOf(chatIds(), model.tokenizer()::isSpecial);
        List<Case> cases = List.of(
                new Case("add", 30, Steering.features(sae, Map.of(7, 60f), Steering.Options.additive()).skipping(special).hookSet()),
                new Case("orthogonal_decomp", -4, Steering.features(sae, Map.of(7, -8f),
                        new Steering.Options(Steering.Method.ORTHOGONAL_DECOMP, 1f, false)).skipping(special).hookSet()),
                new Case("projection_cap", -1, Steering.features(sae, Map.of(7, -2f),
                        new Steering.Options(Steering.Method.PROJECTION_CAP, 1f, false)).skipping(special).hookSet()),
                new Case("clamp", 20, SaeSplice.of(sae).withErrorTerm(true).clamp(7, 40f).skipping(special).hookSet()),
                new Case("ablate", 0, SaeSplice.of(sae).withErrorTerm(true).ablate(7).skipping(special).hookSet()));
        int changed = 0;
        for (Case c : cases) {
            ObjectNode req = chat(12);
            ObjectNode ext = req.putObject("loupe");
            ObjectNode entry = ext.putArray("steer").addObject().put("feature", 7).put("mode", c.mode());
            if (!c.mode().equals("ablate")) entry.put("strength", c.strength());
            ext.put("strength_multiplier", 2).put("steer_special_tokens", false);
            String got = answer(req);
            assertEquals(expected(c.hooks(), 12), got, c.mode());
            if (!got.equals(plain)) changed++;
        }
        assertTrue(changed >= 3, "most modes change the tiny model's answer (" + changed + " of " + cases.size() + ")");

        ObjectNode normalized = chat(12);
        normalized.putObject("loupe").put("normalize_steering", true).putArray("steer").addObject().put("feature", 7).put("strength", 90);
        assertEquals(expected(Steering.features(sae, Map.of(7, 90f), new Steering.Options(Steering.Method.SIMPLE_ADDITIVE, 1f, true)).hookSet(), 12),
                answer(normalized));
    }

    @Test void badSteeringFieldsAreOneClearError() {
        String[][] cases = {
                {"{\"steer\": [{\"feature\": 7, \"mode\": \"rotate\", \"strength\": 1}]}", "orthogonal_decomp"},
                {"{\"steer\": [{\"feature\": 7, \"mode\": \"projection_cap\"}]}", "loupe.steer[0].strength"},
                {"{\"steer\": [{\"feature\": 7, \"strength\": 1}], \"strength_multiplier\": \"x\"}", "loupe.strength_multiplier"},
                {"{\"steer\": [{\"feature\": 7, \"strength\": 1}], \"steer_special_tokens\": 1}", "steer_special_tokens"},
        };
        for (String[] c : cases) {
            ObjectNode req = chat(2);
            try {
                req.set("loupe", Json.MAPPER.readTree(c[0]));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            Http.Reply r = Http.post(base, "/v1/chat/completions", req.toString());
            assertEquals(400, r.status(), c[0] + " " + r.body());
            assertTrue(r.json().get("error").get("message").asText().contains(c[1]), r.body());
        }
        ObjectNode tooMany = chat(2).put("logprobs", true).put("top_logprobs", 21);
        assertEquals(400, Http.post(base, "/v1/chat/completions", tooMany.toString()).status());
        ObjectNode without = chat(2).put("top_logprobs", 3);
        Http.Reply r = Http.post(base, "/v1/chat/completions", without.toString());
        assertEquals(400, r.status());
        assertTrue(r.body().contains("logprobs"), r.body());
    }

    /** log-softmax in double of the model's logits after {@code ids}. */
    private static double[] logProbs(int[] ids) {
        return model.run(ids, RunOptions.defaults()).logProbsAt(ids.length - 1);
    }

    @Test void logprobsAsOpenAiReturnsThem() {
        int n = 6;
        ObjectNode req = chat(n).put("logprobs", true).put("top_logprobs", 3);
        req.put("ignore_eos", true);
        Http.Reply r = Http.post(base, "/v1/chat/completions", req.toString());
        assertEquals(200, r.status(), r.body());
        JsonNode choice = r.json().get("choices").get(0);
        JsonNode content = choice.get("logprobs").get("content");
        assertTrue(choice.get("logprobs").has("refusal"));
        assertEquals(n, content.size());
        int[] ids = chatIds();
        StringBuilder text = new StringBuilder();
        for (int k = 0; k < n; k++) {
            JsonNode t = content.get(k);
            double[] lp = logProbs(ids);
            int chosen = 0;
            for (int i = 1; i < lp.length; i++) if (lp[i] > lp[chosen]) chosen = i;
            assertEquals(lp[chosen], t.get("logprob").asDouble(), 1e-3, "token " + k);
            assertEquals(model.tokenizer().decode(new int[]{chosen}), t.get("token").asText());
            JsonNode top = t.get("top_logprobs");
            assertEquals(3, top.size());
            assertEquals(t.get("token").asText(), top.get(0).get("token").asText(), "greedy: the chosen token is the most likely");
            for (int j = 1; j < 3; j++) assertTrue(top.get(j).get("logprob").asDouble() <= top.get(j - 1).get("logprob").asDouble());
            // bytes: a byte piece <0xNN> is that byte; any other piece is its text (▁ a space) in UTF-8
            String piece = model.tokenizer().piece(chosen);
            byte[] want = piece.matches("<0x[0-9A-Fa-f]{2}>") ? new byte[]{(byte) Integer.parseInt(piece.substring(3, 5), 16)}
                    : model.tokenizer().decode(new int[]{chosen}).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(want.length, t.get("bytes").size(), "bytes of " + piece);
            for (int i = 0; i < want.length; i++) assertEquals(want[i] & 0xFF, t.get("bytes").get(i).asInt());
            text.append(model.tokenizer().decode(new int[]{chosen}));
            ids = java.util.Arrays.copyOf(ids, ids.length + 1);
            ids[ids.length - 1] = chosen;
        }
        assertTrue(text.length() > 0);

        // Streamed, the same entries arrive with the chunks that carry their text.
        req.put("stream", true);
        Http.Reply s = Http.post(base, "/v1/chat/completions", req.toString());
        List<JsonNode> streamed = new ArrayList<>();
        for (String line : s.body().split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode c = Json.object(line.substring(6)).get("choices").get(0);
            if (c.get("logprobs") != null && !c.get("logprobs").isNull()) c.get("logprobs").get("content").forEach(streamed::add);
        }
        assertEquals(n, streamed.size());
        for (int k = 0; k < n; k++) assertEquals(content.get(k), streamed.get(k), "streamed token " + k);

        ObjectNode none = chat(2);
        assertTrue(Http.post(base, "/v1/chat/completions", none.toString()).json().get("choices").get(0).get("logprobs").isNull());
    }

    @Test void steeringStreamSaysWhatAClampSetsAndGivesLogprobs() throws IOException {
        Http.Reply r = Http.post(base, "/api/steer", "{\"prompt\": \"the city\", \"steer\": [{\"feature\": 7, \"mode\": \"clamp\", \"strength\": 10},"
                + " {\"feature\": 9, \"mode\": \"projection_cap\", \"strength\": 1}], \"strength_multiplier\": 3, \"temperature\": 0.7, \"seed\": 5,"
                + " \"max_tokens\": 5, \"ignore_eos\": true, \"top_logprobs\": 2}");
        assertEquals(200, r.status(), r.body());
        List<ApiTest.Event> ev = ApiTest.events(r.body());
        JsonNode start = ev.getFirst().data();
        assertEquals(5, start.get("seed").asLong());
        assertEquals(30.0, start.get("steer").get(0).get("target").asDouble(), 1e-6, "clamp 10 × multiplier 3");
        assertEquals("projection_cap", start.get("steer").get(1).get("mode").asText());
        assertNull(start.get("steer").get(1).get("target"));
        int tokens = 0;
        for (ApiTest.Event e : ev) {
            if (!e.name().equals("token")) continue;
            tokens++;
            assertTrue(e.data().get("logprob").asDouble() <= 0);
            assertEquals(2, e.data().get("top_logprobs").size());
        }
        assertEquals(10, tokens);
        // Both runs sample with the request's seed: the default run is the plain generation with that seed.
        String plain = null;
        for (ApiTest.Event e : ev) if (e.name().equals("done") && e.data().get("run").asText().equals("default")) plain = e.data().get("text").asText();
        Generation g = new Generation(5, 0.7f, 0, 1f, 5, java.util.Set.of());
        assertEquals(model.generate(model.tokenizer().encode("the city"), g, HookSet.empty(), null).text(model.tokenizer()), plain);
        assertNotEquals(null, plain);
    }
}
