package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.web.Limits;
import dev.loupe.web.LoupeServer;
import dev.loupe.web.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code loupe serve}: the web pages, JSON API and OpenAI-compatible chat endpoint over a corpus run. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a corpus run in the browser: feature table, feature pages, and (with a model and SAE) the prompt "
                + "inspector, search via inference, steering playground and an OpenAI-compatible /v1/chat/completions. "
                + "The model and SAE default to what the run's run.json names, when those paths exist.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--run", required = true, paramLabel = "RUN_DIR", description = "the corpus run folder (written by loupe index)")
    Path run;

    @Option(names = "--model", paramLabel = "PATH", description = "model for the live pages (default: run.json's, when it exists)")
    Path model;

    @Option(names = "--sae", paramLabel = "DIR", description = "the run's SAE folder (default: run.json's, when it exists)")
    Path sae;

    @Option(names = "--hook", paramLabel = "NAME", description = "hook point the SAE reads (default: the run's)")
    String hook;

    @Option(names = "--sae-id", paramLabel = "ID", description = "which SAE of a run with several (default: the first)")
    String saeId;

    @Option(names = "--port", paramLabel = "N", description = "port (default: ${DEFAULT-VALUE}; 0 picks a free one)")
    int port = ServerOptions.DEFAULT_PORT;

    @Option(names = "--host", paramLabel = "ADDR", description = "address to bind (default: ${DEFAULT-VALUE}, this machine only)")
    String host = ServerOptions.DEFAULT_HOST;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--parallel", paramLabel = "N", description = "forward passes at once, 1 or 2 (default: ${DEFAULT-VALUE})")
    int parallel = Limits.defaults().concurrency();

    @Option(names = "--queue", paramLabel = "N", description = "requests that may wait for a pass before 429 (default: ${DEFAULT-VALUE})")
    int queue = Limits.defaults().queueCapacity();

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "time limit per request (default: ${DEFAULT-VALUE})")
    long timeoutSeconds = Limits.defaults().requestTimeout().toSeconds();

    @Option(names = "--max-prompt-tokens", paramLabel = "N", description = "longest prompt (default: ${DEFAULT-VALUE})")
    int maxPromptTokens = Limits.defaults().maxPromptTokens();

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "most tokens one request may generate (default: ${DEFAULT-VALUE})")
    int maxNewTokens = Limits.defaults().maxNewTokens();

    @Option(names = "--body-timeout", paramLabel = "SECONDS", description = "time a client has to send a request body; then its connection is closed (default: ${DEFAULT-VALUE})")
    long bodyTimeoutSeconds = Limits.defaults().bodyTimeout().toSeconds();

    @Option(names = "--max-client-connections", paramLabel = "N", description = "connections one client address may hold open; more are closed (default: ${DEFAULT-VALUE})")
    int maxClientConnections = Limits.defaults().maxConnectionsPerClient();

    @Option(names = "--no-request-log", description = "do not print a line per request (method, path, status, milliseconds) to stderr")
    boolean noRequestLog;

    @Override public Integer call() throws Exception {
        if (timeoutSeconds < 1) throw new BadInputException("--timeout must be at least 1 second, got " + timeoutSeconds);
        if (parallel < 1 || parallel > 2) throw new BadInputException("--parallel must be 1 or 2, got " + parallel);
        if (queue < 0) throw new BadInputException("--queue must be >= 0, got " + queue);
        if (maxPromptTokens < 2) throw new BadInputException("--max-prompt-tokens must be >= 2, got " + maxPromptTokens);
        if (maxNewTokens < 1) throw new BadInputException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        if (bodyTimeoutSeconds < 1) throw new BadInputException("--body-timeout must be at least 1 second, got " + bodyTimeoutSeconds);
        if (maxClientConnections < 1) throw new BadInputException("--max-client-connections must be >= 1, got " + maxClientConnections);
        Limits limits = Limits.defaults().withConcurrency(parallel).withQueueCapacity(queue).withRequestTimeout(Duration.ofSeconds(timeoutSeconds))
                .withMaxPromptTokens(maxPromptTokens).withMaxNewTokens(maxNewTokens)
                .withBodyTimeout(Duration.ofSeconds(bodyTimeoutSeconds)).withMaxConnectionsPerClient(maxClientConnections);
        ServerOptions options = new ServerOptions(run, saeId, model, sae, hook, host, port, threads, limits, !noRequestLog);
        LoupeServer server = LoupeServer.start(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "loupe-serve-stop"));
        System.out.println("Loupe is serving " + run + (server.live() ? " with the live pages" : " (browsing only: no model)"));
        System.out.println("Open " + server.url() + "   (OpenAI-compatible API: " + server.url() + "v1, Ctrl+C stops)");
        System.out.flush();
        stopped.await();
        return 0;
    }
}
