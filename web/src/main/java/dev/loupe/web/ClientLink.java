package dev.loupe.web;

import io.javalin.http.Context;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;

/**
 * Whether the client of a request that writes nothing until it is done (a non-streaming completion, a request
 * waiting for a work slot) is still there. Jetty does not read a connection while its request is handled, so a
 * client that hung up goes unnoticed until the answer is written; this reads it without blocking: end of input
 * means the client closed its side (as llama-server also takes it).
 *
 * <p>The request body was read before the handler ran, so the only bytes that can arrive are a pipelined next
 * request, which no HTTP client sends after a POST in practice. Should one come, it cannot be handed back to
 * Jetty: the answer then carries {@code Connection: close} so that the client sends it again on a new connection.
 */
final class ClientLink implements BooleanSupplier {
    private static final long CHECK_EVERY_NANOS = 50_000_000L;

    private final Context ctx;
    private final EndPoint endPoint;
    private boolean gone;
    private boolean sawData;
    private long lastCheck;

    private ClientLink(Context ctx, EndPoint endPoint) {
        this.ctx = ctx;
        this.endPoint = endPoint;
    }

    static ClientLink of(Context ctx) {
        EndPoint ep = null;
        try {
            ServletContextRequest r = ServletContextRequest.getServletContextRequest(ctx.req());
            if (r != null) ep = r.getConnectionMetaData().getConnection().getEndPoint();
        } catch (RuntimeException e) {
            // not a Jetty request (never in the server): nothing to watch
        }
        return new ClientLink(ctx, ep);
    }

    /** True once the client has closed the connection (checked at most every 50 ms). */
    @Override public boolean getAsBoolean() {
        if (gone || endPoint == null || sawData) return gone;
        long now = System.nanoTime();
        if (now - lastCheck < CHECK_EVERY_NANOS) return false;
        lastCheck = now;
        if (!endPoint.isOpen()) return gone = true;
        try {
            ByteBuffer probe = ByteBuffer.allocate(1);
            probe.flip();   // Jetty's fill appends after the limit: start empty in flush mode
            int n = endPoint.fill(probe);
            if (n < 0) gone = true;
            else if (n > 0) {
                sawData = true;
                ctx.header("Connection", "close");
            }
        } catch (IOException e) {
            gone = true;
        }
        return gone;
    }

    /** Throws {@link SseStream.ClientGone} when the client has left, ending the work done for it. */
    void check() {
        if (getAsBoolean()) throw new SseStream.ClientGone(null);
    }
}
