package dev.loupe.web;

import dev.loupe.errors.BadInputException;

import java.nio.file.Path;

/**
 * What {@code loupe serve} was given.
 *
 * @param runDir    the corpus run folder (required)
 * @param saeId     which SAE of a several-SAE run, or null for the first
 * @param model     the model for the live pages, or null for the one run.json names (when it exists)
 * @param sae       the SAE folder, or null for the one run.json names (when it exists)
 * @param hook      the hook point the SAE reads, or null for the run's
 * @param host      the address to bind (127.0.0.1 unless told otherwise)
 * @param port      the port (0 picks a free one)
 * @param threads   CPU threads for the model
 * @param limits    queue and size limits
 * @param requestLog whether to write one line per request (method, path, status, milliseconds) to the log
 */
public record ServerOptions(Path runDir, String saeId, Path model, Path sae, String hook, String host, int port, int threads,
                            Limits limits, boolean requestLog) {
    public static final int DEFAULT_PORT = 7860;
    public static final String DEFAULT_HOST = "127.0.0.1";

    public ServerOptions {
        if (runDir == null) throw new BadInputException("--run is required");
        if (port < 0 || port > 65535) throw new BadInputException("--port must be in [0, 65535], got " + port);
        if (threads < 1) throw new BadInputException("--threads must be >= 1, got " + threads);
        if (host == null || host.isBlank()) throw new BadInputException("--host is empty");
    }

    /** Browsing and, when run.json's model and SAE exist, the live pages; default address and limits. */
    public static ServerOptions of(Path runDir) {
        return new ServerOptions(runDir, null, null, null, null, DEFAULT_HOST, DEFAULT_PORT, Runtime.getRuntime().availableProcessors(), Limits.defaults(), true);
    }

    public ServerOptions withModel(Path model, Path sae, String hook) { return new ServerOptions(runDir, saeId, model, sae, hook, host, port, threads, limits, requestLog); }

    public ServerOptions withAddress(String host, int port) { return new ServerOptions(runDir, saeId, model, sae, hook, host, port, threads, limits, requestLog); }

    public ServerOptions withLimits(Limits l) { return new ServerOptions(runDir, saeId, model, sae, hook, host, port, threads, l, requestLog); }

    public ServerOptions withThreads(int t) { return new ServerOptions(runDir, saeId, model, sae, hook, host, port, t, limits, requestLog); }

    public ServerOptions withSaeId(String id) { return new ServerOptions(runDir, id, model, sae, hook, host, port, threads, limits, requestLog); }

    public ServerOptions withRequestLog(boolean on) { return new ServerOptions(runDir, saeId, model, sae, hook, host, port, threads, limits, on); }
}
