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

    /** The whole body of a 500: it names nothing of the failure, which only the server's log shows. */
    static final String INTERNAL = "the server failed on this request (an internal error; the server's log names it)";

    /**
     * A failure that is the server's own fault (a bug: any exception but wrong input or a refusal): the server's log
     * gets a line naming the request and the exception, then its stack trace; the client, unless the answer is already
     * under way, a JSON 500 that names no Java internals.
     */
    static void internal(Context ctx, Throwable t, PrintStream log) {
        String what = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage().replace('\n', ' '));
        synchronized (log) {
            log.println("loupe serve: " + ctx.method() + " " + ctx.path() + " failed: " + what);
            t.printStackTrace(log);
        }
        if (ctx.res().isCommitted()) return;
        ctx.status(500);
        ctx.contentType("application/json");
        ctx.result(Json.write(new Body(new Detail(INTERNAL, "server_error", null, null))));
    }
}
