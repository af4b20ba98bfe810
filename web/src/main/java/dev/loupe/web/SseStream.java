package dev.loupe.web;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-event response written straight to the socket and flushed after every event, so tokens reach
 * the client as they are made. A write that fails means the client went away: it throws {@link ClientGone},
 * which ends the generation that was writing.
 */
final class SseStream {
    /** The client closed the connection; whatever produced the events should stop. */
    static final class ClientGone extends RuntimeException {
        ClientGone(IOException cause) { super("client disconnected", cause, false, false); }
    }

    private final OutputStream out;

    SseStream(Context ctx) {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        try {
            this.out = ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new ClientGone(e);
        }
    }

    /** {@code data: <json>} (the OpenAI form: no event name). */
    void data(Object payload) { write("data: " + (payload instanceof String s ? s : Json.write(payload)) + "\n\n"); }

    /** {@code event: <name>} then {@code data: <json>}. */
    void event(String name, Object payload) { write("event: " + name + "\ndata: " + Json.write(payload) + "\n\n"); }

    private void write(String s) {
        try {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new ClientGone(e);
        }
    }
}
