package dev.loupe.web;

import io.javalin.http.Context;

import java.io.PrintStream;

/** The one JSON shape every error takes: {@code {"error": {"message", "type", "param"}}}, OpenAI's. */
final class Errors {
    private Errors() {}

    record Detail(String message, String type, String param, String code) {}

    record Body(Detail error) {}

    static Body body(ApiException e) { return new Body(new Detail(e.getMessage(), e.type(), e.param(), null)); }

    static void write(Context ctx, ApiException e) {
        ctx.status(e.status());
        if (e.retryAfterSeconds() > 0) ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        ctx.contentType("application/json");
        ctx.result(Json.write(body(e)));
    }

    /**
     * A failure that is the server's own fault (a bug, or memory): answered with a JSON 500 that names no Java
     * internals, and one line on the server's log with the exception, never a stack trace.
     */
    static void internal(Context ctx, Throwable t, PrintStream log) {
        String what = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage().replace('\n', ' '));
        log.println("loupe serve: " + ctx.method() + " " + ctx.path() + " failed: " + what);
        ctx.status(500);
        ctx.contentType("application/json");
        ctx.result(Json.write(new Body(new Detail("the server failed on this request (an internal error; the server's log names it)",
                "server_error", null, null))));
    }
}
