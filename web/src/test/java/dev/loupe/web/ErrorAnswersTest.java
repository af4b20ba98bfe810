package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.errors.BadInputException;
import io.javalin.Javalin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server's answers to what a route throws ({@link LoupeServer#answerErrors}): wrong input is the client's 400;
 * a bug (any other exception, a plain IllegalArgumentException included) is a 500 that names nothing of it, while
 * the server's log gets the exception and its stack trace.
 */
class ErrorAnswersTest {
    private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    private static Javalin app;
    private static String base;

    @BeforeAll static void start() {
        PrintStream log = new PrintStream(LOG, true, StandardCharsets.UTF_8);
        app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.routes.get("/bad-input", ctx -> { throw BadInputException.of("layer", "expected 0..3, got 9"); });
            config.routes.get("/npe", ctx -> {
                String missing = ctx.queryParam("never-given");
                ctx.result(missing.strip());   // a bug: the route forgot that the parameter is optional
            });
            config.routes.get("/plain-iae", ctx -> { throw new IllegalArgumentException("secret internal state 0x7f"); });
            LoupeServer.answerErrors(config, log, new AtomicLong());
        }).start("127.0.0.1", 0);
        base = "http://127.0.0.1:" + app.port();
    }

    @AfterAll static void stop() { app.stop(); }

    @Test void badInputIsA400NamingTheParameter() {
        Http.Reply r = Http.get(base, "/bad-input");
        assertEquals(400, r.status(), r.body());
        JsonNode error = r.json().get("error");
        assertEquals("layer: expected 0..3, got 9", error.get("message").asText());
        assertEquals("invalid_request_error", error.get("type").asText());
        assertEquals("layer", error.get("param").asText());
    }

    @Test void aBugInARouteIsA500WithAGenericBodyAndTheTraceGoesToTheLog() {
        for (String path : new String[]{"/npe", "/plain-iae"}) {
            Http.Reply r = Http.get(base, path);
            assertEquals(500, r.status(), path + ": " + r.body());
            assertTrue(r.contentType().startsWith("application/json"), r.contentType());
            JsonNode error = r.json().get("error");
            assertEquals(Errors.INTERNAL, error.get("message").asText());
            assertEquals("server_error", error.get("type").asText());
            assertFalse(r.body().contains("Exception") || r.body().contains("secret") || r.body().contains("strip"), r.body());
        }
        String log = LOG.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("GET /npe failed: NullPointerException"), log);
        assertTrue(log.contains("GET /plain-iae failed: IllegalArgumentException: secret internal state 0x7f"), log);
        assertTrue(log.contains("\tat dev.loupe.web.ErrorAnswersTest"), "the stack trace is on the log: " + log);
    }
}
