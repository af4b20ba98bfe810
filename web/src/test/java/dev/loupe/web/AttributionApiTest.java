package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.*;

/** {@code POST /api/attribute} ("why this next token") on the live tiny-a server, against the float64 autograd attributions. */
class AttributionApiTest {
    static LoupeServer server;
    static String base;

    @BeforeAll
    static void start() throws IOException {
        server = TinyRun.liveServer(TinyRun.testLimits());
        base = server.url().replaceAll("/$", "");
    }

    @AfterAll
    static void stop() { if (server != null) server.close(); }

    private static ObjectNode request(Integer target, Integer baseline) throws IOException {
        ObjectNode req = Json.MAPPER.createObjectNode();
        var ids = req.putArray("tokens");
        for (int t : Npy.read(Fixtures.file("tiny-a/grad/tokens.npy")).ints()) ids.add(t);
        if (target != null) req.put("target", target);
        if (baseline != null) req.put("baseline", baseline);
        req.put("top_k", 64);
        return req;
    }

    @Test
    void logitDifferenceAttributionsMatchAutograd() throws IOException {
        JsonNode r = Http.post(base, "/api/attribute", Json.write(request(104, 178))).json();
        assertEquals("logit-diff", r.get("metric").asText());
        assertEquals(1.9833147071576391, r.get("value").asDouble(), 2e-4);
        assertEquals(TinyRun.HOOK, r.get("hook").asText());
        assertEquals(104, r.get("target").get("id").asInt());
        assertEquals(178, r.get("baseline").get("id").asInt());
        Npy.Array attr = Npy.read(Fixtures.file("tiny-a/grad/sae_attr/attribution.npy"));    // [40, 256]
        Npy.Array err = Npy.read(Fixtures.file("tiny-a/grad/sae_attr/error_attribution.npy"));
        double prev = Double.MAX_VALUE;
        for (JsonNode f : r.get("features")) {
            int id = f.get("feature").asInt();
            double total = 0;
            for (int p = 0; p < 40; p++) {
                total += attr.get(p, id);
                assertEquals(attr.get(p, id), f.get("by_position").get(p).floatValue(), 5e-4, "feature " + id + " at " + p);
            }
            assertEquals(total, f.get("attribution").asDouble(), 2e-3, "feature " + id);
            assertTrue(Math.abs(total) <= prev + 2e-3, "sorted by |attribution|");
            prev = Math.abs(total);
        }
        assertEquals(40, r.get("tokens").size());
        for (int p = 0; p < 40; p++) assertEquals(err.data()[p], r.get("error").get(p).floatValue(), 1e-3, "error node at " + p);
    }

    @Test
    void withoutATargetItExplainsTheMostLikelyTokensLogit() throws IOException {
        JsonNode r = Http.post(base, "/api/attribute", Json.write(request(null, null))).json();
        assertEquals("logit", r.get("metric").asText());
        assertEquals(104, r.get("target").get("id").asInt());
        assertFalse(r.has("baseline"), "no baseline: a plain logit");
        assertTrue(r.get("features").size() > 0);
    }

    @Test
    void aTargetOutsideTheVocabularyIsA400() throws IOException {
        Http.Reply bad = Http.post(base, "/api/attribute", Json.write(request(384, null)));
        assertEquals(400, bad.status());
        assertTrue(bad.body().contains("target"), bad.body());
    }
}
