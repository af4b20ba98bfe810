package dev.loupe.web;

import org.eclipse.jetty.io.Connection;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * At most {@code max} open connections per client address: a connection past that is closed as it opens, so one
 * client (a slow-body flood, a runaway script) cannot take every server thread from the others.
 */
final class ClientConnections implements Connection.Listener {
    private final int max;
    private final Map<InetAddress, Integer> open = new ConcurrentHashMap<>();
    // The connections counted in, so that a connection opened before this listener was added is never counted out.
    private final Map<Connection, InetAddress> counted = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();

    ClientConnections(int max) { this.max = max; }

    @Override public void onOpened(Connection connection) {
        InetAddress client = address(connection.getEndPoint().getRemoteSocketAddress());
        if (client == null) return;
        int n = open.merge(client, 1, Integer::sum);
        counted.put(connection, client);
        if (n > max) {
            refused.incrementAndGet();
            connection.getEndPoint().close();
        }
    }

    @Override public void onClosed(Connection connection) {
        InetAddress client = counted.remove(connection);
        if (client != null) open.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Connections closed on arrival because their client already held {@code max}. */
    long refused() { return refused.get(); }

    private static InetAddress address(SocketAddress a) { return a instanceof InetSocketAddress i ? i.getAddress() : null; }
}
