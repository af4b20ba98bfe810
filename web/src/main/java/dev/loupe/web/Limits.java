package dev.loupe.web;

import dev.loupe.errors.BadInputException;

import java.time.Duration;

/**
 * How much work the server takes on.
 *
 * @param concurrency     forward-pass jobs that run at once (1 or 2: the CPU backend serializes kernels, so more
 *                        only interleave)
 * @param queueCapacity   jobs that may wait for a slot; past that a request gets 429 with {@code Retry-After}
 * @param requestTimeout  the longest a request may wait plus run; past that it stops with 408
 * @param maxPromptTokens the longest prompt (in tokens, {@code <bos>} included) a live request may send
 * @param maxNewTokens    the most tokens one generation may ask for
 * @param maxBodyBytes    the largest request body
 * @param bodyTimeout     the longest a client may take to send a request body: a client that trickles its body
 *                        holds a server thread, so past this its connection is closed
 * @param maxConnectionsPerClient connections one client address may hold open at once; more are closed on arrival
 */
public record Limits(int concurrency, int queueCapacity, Duration requestTimeout, int maxPromptTokens, int maxNewTokens,
                     long maxBodyBytes, Duration bodyTimeout, int maxConnectionsPerClient) {
    public Limits {
        if (concurrency < 1 || concurrency > 2) throw new BadInputException("concurrency must be 1 or 2, got " + concurrency);
        if (queueCapacity < 0) throw new BadInputException("queue capacity must be >= 0, got " + queueCapacity);
        if (requestTimeout.isNegative() || requestTimeout.isZero()) throw new BadInputException("request timeout must be positive");
        if (maxPromptTokens < 2) throw new BadInputException("max prompt tokens must be >= 2, got " + maxPromptTokens);
        if (maxNewTokens < 1) throw new BadInputException("max new tokens must be >= 1, got " + maxNewTokens);
        if (maxBodyBytes < 1024) throw new BadInputException("max body bytes must be >= 1024, got " + maxBodyBytes);
        if (bodyTimeout.isNegative() || bodyTimeout.isZero()) throw new BadInputException("body timeout must be positive");
        if (maxConnectionsPerClient < 1) throw new BadInputException("max connections per client must be >= 1, got " + maxConnectionsPerClient);
    }

    /**
     * One pass at a time, four waiting, two minutes per request, 2048-token prompts, 512 new tokens, 1 MiB bodies
     * sent within 10 s, 64 connections per client (a browser opens at most 6 per server; Jetty has 250 threads).
     */
    public static Limits defaults() { return new Limits(1, 4, Duration.ofMinutes(2), 2048, 512, 1 << 20, Duration.ofSeconds(10), 64); }

    public Limits withConcurrency(int n) { return new Limits(n, queueCapacity, requestTimeout, maxPromptTokens, maxNewTokens, maxBodyBytes, bodyTimeout, maxConnectionsPerClient); }

    public Limits withQueueCapacity(int n) { return new Limits(concurrency, n, requestTimeout, maxPromptTokens, maxNewTokens, maxBodyBytes, bodyTimeout, maxConnectionsPerClient); }

    public Limits withRequestTimeout(Duration d) { return new Limits(concurrency, queueCapacity, d, maxPromptTokens, maxNewTokens, maxBodyBytes, bodyTimeout, maxConnectionsPerClient); }

    public Limits withMaxPromptTokens(int n) { return new Limits(concurrency, queueCapacity, requestTimeout, n, maxNewTokens, maxBodyBytes, bodyTimeout, maxConnectionsPerClient); }

    public Limits withMaxNewTokens(int n) { return new Limits(concurrency, queueCapacity, requestTimeout, maxPromptTokens, n, maxBodyBytes, bodyTimeout, maxConnectionsPerClient); }

    public Limits withBodyTimeout(Duration d) { return new Limits(concurrency, queueCapacity, requestTimeout, maxPromptTokens, maxNewTokens, maxBodyBytes, d, maxConnectionsPerClient); }

    public Limits withMaxConnectionsPerClient(int n) { return new Limits(concurrency, queueCapacity, requestTimeout, maxPromptTokens, maxNewTokens, maxBodyBytes, bodyTimeout, n); }
}
