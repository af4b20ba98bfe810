package dev.loupe.web;

import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Checks every request gets before a route sees it:
 * <ul>
 *   <li>its {@code Host} names this server: bound to a specific address, the server answers only to that address
 *       (and {@code localhost} for a loopback one), so a web page whose name was re-pointed at 127.0.0.1 (DNS
 *       rebinding) cannot read the answers. Bound to a wildcard address, any name is taken.</li>
 *   <li>a POST says {@code Content-Type: application/json}: the types a page on another site may POST without
 *       asking (a form's, {@code text/plain}) are refused, so such a page cannot start work here (CSRF).</li>
 *   <li>its body arrives within {@link Limits#bodyTimeout()}: it is read here, whole, under a deadline after which
 *       the connection is closed, so a client that trickles its body cannot hold a server thread for long; a body
 *       that ends early or whose chunked encoding is broken is the client's fault, a 400.</li>
 * </ul>
 */
final class RequestGuard implements AutoCloseable {
    private final Set<String> hosts;   // null: any
    private final String boundHost;
    private final Duration bodyTimeout;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "loupe-body-timeout");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong bodyTimeouts = new AtomicLong();

    RequestGuard(String boundHost, Duration bodyTimeout) {
        this.boundHost = boundHost;
        this.hosts = allowedHosts(boundHost);
        this.bodyTimeout = bodyTimeout;
    }

    /** The Host names this server answers to when bound to {@code host}, or null for any (a wildcard address). */
    static Set<String> allowedHosts(String host) {
        String h = bare(host);
        try {
            InetAddress a = InetAddress.getByName(h.isEmpty() ? "0.0.0.0" : h);
            if (a.isAnyLocalAddress()) return null;
            Set<String> names = new java.util.HashSet<>(List.of(h, bare(a.getHostAddress())));
            if (a.isLoopbackAddress()) names.add("localhost");
            return Set.copyOf(names);
        } catch (UnknownHostException e) {
            return Set.of(h);
        }
    }

    /** A Host header or address without its port and IPv6 brackets, lower case. */
    static String bare(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(1, end);
        }
        int colon = h.indexOf(':');
        if (colon >= 0 && colon == h.lastIndexOf(':')) h = h.substring(0, colon);   // name:port (one colon); a bare IPv6 has several
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        return h;
    }

    void check(Context ctx) {
        checkHost(ctx);
        if (ctx.method().name().equals("POST")) {
            checkContentType(ctx);
            readBody(ctx);
        }
    }

    private void checkHost(Context ctx) {
        if (hosts == null) return;
        String host = ctx.header("Host");
        if (host == null || host.isBlank()) return;   // HTTP/1.0 without Host; every browser sends one
        if (!hosts.contains(bare(host))) {
            throw ApiException.forbidden("the Host header '" + QueryParams.clip(host) + "' does not name this server (" + boundHost
                    + "); a page on another site may be trying to reach it. Open it by its address, or start it with --host 0.0.0.0 to take any name");
        }
    }

    private static void checkContentType(Context ctx) {
        String type = ctx.contentType();
        String base = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!base.equals("application/json")) {
            throw ApiException.unsupportedMediaType("a POST body must be JSON sent with 'Content-Type: application/json'"
                    + (type == null || type.isBlank() ? " (the request has no Content-Type)" : " (got '" + QueryParams.clip(type) + "')"));
        }
    }

    /** Reads the body under the deadline; later {@code ctx.body()} calls get it from Javalin's cache. */
    private void readBody(Context ctx) {
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> closer = timer.schedule(() -> {
            expired.set(true);
            bodyTimeouts.incrementAndGet();
            try {
                ServletContextRequest.getServletContextRequest(ctx.req()).getConnectionMetaData().getConnection().getEndPoint().close();
            } catch (RuntimeException e) {
                // already closed
            }
        }, bodyTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            ctx.bodyAsBytes();
        } catch (HttpResponseException e) {
            throw e;   // Javalin's own answer (413 for a body over the limit)
        } catch (Exception e) {
            if (expired.get()) throw new SseStream.ClientGone(null);
            throw ApiException.badRequest("the request body could not be read: it ended early or its chunked encoding is malformed");
        } finally {
            closer.cancel(false);
        }
        if (expired.get()) throw new SseStream.ClientGone(null);
    }

    /** Connections closed because their body did not arrive in time. */
    long bodyTimeouts() { return bodyTimeouts.get(); }

    @Override public void close() { timer.shutdownNow(); }
}
