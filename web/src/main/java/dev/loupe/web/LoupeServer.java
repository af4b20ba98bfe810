package dev.loupe.web;

import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.RunManifest;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Loupe server: the pages, the JSON API under {@code /api/} (described by {@code /api/openapi.json}) and
 * OpenAI's {@code /v1/chat/completions} and {@code /v1/models}. With a run folder alone it serves the browsing
 * pages; with a model and SAE (given, or named by run.json and present) also the live ones.
 *
 * <pre>{@code
 * try (LoupeServer server = LoupeServer.start(ServerOptions.of(runDir))) {
 *     System.out.println(server.url());
 * }
 * }</pre>
 */
public final class LoupeServer implements AutoCloseable {
    private final Javalin app;
    private final FeatureStore store;
    private final LiveModel live;
    private final Sae browseSae;
    private final String host;
    private final AtomicLong clientsGone;
    private final RequestGuard guard;
    private final ClientConnections connections;

    private LoupeServer(Javalin app, FeatureStore store, LiveModel live, Sae browseSae, String host, AtomicLong clientsGone,
                        RequestGuard guard, ClientConnections connections) {
        this.app = app;
        this.store = store;
        this.live = live;
        this.browseSae = browseSae;
        this.host = host;
        this.clientsGone = clientsGone;
        this.guard = guard;
        this.connections = connections;
    }

    /** Opens the run (and model and SAE when there are), binds and starts serving. */
    public static LoupeServer start(ServerOptions options) throws IOException { return start(options, System.err); }

    /** As {@link #start(ServerOptions)}, logging one line per failed request to {@code log}. */
    public static LoupeServer start(ServerOptions options, PrintStream log) throws IOException {
        Path runDir = options.runDir();
        if (!Files.isDirectory(runDir)) throw new BadInputException("--run " + runDir + ": no such folder");
        if (!Files.isRegularFile(runDir.resolve("run.json"))) throw new BadInputException("--run " + runDir + ": not a corpus run (no run.json)");
        Model model = null;
        FeatureStore store = null;
        Sae sae = null;
        LiveModel live = null;
        RequestGuard guard = null;
        try {
            if (options.model() != null) {
                requireExists(options.model(), "--model");
                model = Model.load(options.model(), options.threads());
            }
            store = FeatureStore.open(runDir, options.saeId(), model != null && model.hasTokenizer() ? model.tokenizer() : null);
            RunManifest.SaeEntry entry = store.sae();
            Path modelPath = options.model();
            if (model == null) {
                Path named = named(runDir, store.info().model().path());
                if (named != null) {
                    model = Model.load(named, options.threads());
                    modelPath = named;
                }
            }
            Path saePath = options.sae();
            if (saePath != null) requireExists(saePath, "--sae");
            else if (entry.path() != null) saePath = named(runDir, entry.path());
            String hook = options.hook() != null ? options.hook() : entry.hook();
            if (saePath != null) {
                sae = model != null ? Sae.load(saePath, hook, model.backend()) : Sae.load(saePath, hook);
                if (sae.dSae() != store.featureCount()) {
                    throw new BadInputException("--sae " + saePath + " has " + sae.dSae() + " features but the run " + runDir
                            + " has " + store.featureCount() + ": it is not the run's SAE");
                }
            }
            if (model != null && sae == null) {
                throw new BadInputException("the live pages need the run's SAE as well as the model: give --sae DIR (run.json's "
                        + entry.path() + " was not found)");
            }
            if (model != null) {
                live = new LiveModel(model, sae, modelPath, options.limits());
            }
            AtomicLong clientsGone = new AtomicLong();
            requirePortFree(options.host(), options.port());
            if (live != null) {
                log.println("loupe serve: warming up the model (its first passes compile the kernels)...");
                log.println("loupe serve: warm after " + live.warmUp().toMillis() + " ms");
            }
            guard = new RequestGuard(options.host(), options.limits().bodyTimeout());
            Javalin app = build(options, store, live, sae, log, clientsGone, guard);
            try {
                app.start(options.host(), options.port());
            } catch (io.javalin.util.JavalinBindException e) {
                throw new BadInputException(portInUse(options.host(), options.port()));
            }
            ClientConnections connections = new ClientConnections(options.limits().maxConnectionsPerClient());
            for (org.eclipse.jetty.server.Connector c : app.jettyServer().server().getConnectors()) c.addEventListener(connections);
            return new LoupeServer(app, store, live, live == null ? sae : null, options.host(), clientsGone, guard, connections);
        } catch (IOException | RuntimeException e) {
            if (guard != null) guard.close();
            if (live != null) live.close();
            else {
                if (sae != null) sae.close();
                if (model != null) model.close();
            }
            if (store != null) store.close();
            throw e;
        }
    }

    /** A path run.json names, as written or relative to the run folder, when it exists here; else null. */
    private static Path named(Path runDir, String path) {
        if (path == null || path.isBlank()) return null;
        try {
            for (Path p : new Path[]{Path.of(path), runDir.resolve(path)}) if (Files.exists(p)) return p;
        } catch (java.nio.file.InvalidPathException e) {
            // not a path on this system
        }
        return null;
    }

    /**
     * Fails with one line when the port is taken, before Javalin tries (Javalin logs its own ERROR line on a failed
     * bind, which would come before ours).
     */
    private static void requirePortFree(String host, int port) {
        if (port == 0) return;
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);   // as Jetty binds: a port in TIME_WAIT is free
            probe.bind(new java.net.InetSocketAddress(host, port));
        } catch (java.net.BindException e) {
            throw new BadInputException(portInUse(host, port));
        } catch (IOException e) {
            throw new BadInputException("--host " + host + " --port " + port + ": cannot listen there (" + e.getMessage() + ")");
        }
    }

    private static String portInUse(String host, int port) {
        return "--port " + port + ": the port is already in use on " + host + " (another server, perhaps another loupe serve, holds it); "
                + "stop it or choose another port (--port 0 picks a free one)";
    }

    private static void requireExists(Path p, String option) {
        if (!Files.exists(p)) throw new BadInputException(option + " " + p + ": no such file or folder");
    }

    /** The address to open in a browser, e.g. {@code http://127.0.0.1:7860/}. */
    public String url() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        if (h.equals("0.0.0.0") || h.equals("[::]")) h = "127.0.0.1";
        return "http://" + h + ":" + app.port() + "/";
    }

    public int port() { return app.port(); }

    /** Streams that stopped because their client disconnected (their generation stopped with them). */
    long clientsGone() { return clientsGone.get(); }

    /** Connections closed on arrival because their client already held its share. */
    long connectionsRefused() { return connections.refused(); }

    /** Connections closed because their request body did not arrive in time. */
    long bodyTimeouts() { return guard.bodyTimeouts(); }

    /** Whether the live pages (a model and SAE) are served. */
    public boolean live() { return live != null; }

    @Override public void close() {
        app.stop();
        guard.close();
        if (live != null) live.close();
        if (browseSae != null) browseSae.close();
        store.close();
    }

    // ---- routes -----------------------------------------------------------------------------------------

    private static Javalin build(ServerOptions options, FeatureStore store, LiveModel live, Sae sae, PrintStream log, AtomicLong clientsGone,
                                 RequestGuard guard) {
        Limits limits = options.limits();
        WorkQueue queue = new WorkQueue(limits.concurrency(), limits.queueCapacity(), Duration.ofSeconds(5));
        BrowseApi browse = new BrowseApi(store, sae, queue, limits);
        LiveApi liveApi = live == null ? null : new LiveApi(live, queue);
        AttributionApi attribution = live == null ? null : new AttributionApi(live, queue);
        SteerStream steer = live == null ? null : new SteerStream(live, queue, limits, browse::maxActivation);
        ChatCompletions chat = live == null ? null : new ChatCompletions(live, queue, limits, browse::maxActivation);
        NeuronpediaApi neuronpedia = live == null ? null : new NeuronpediaApi(live, queue, limits);
        TextCompletions completions = live == null ? null : new TextCompletions(live, queue, limits);
        TokenizeApi tokenize = live == null ? null : new TokenizeApi(live);
        ExplanationsApi explanations = new ExplanationsApi(store);
        StaticPages pages = new StaticPages();
        long startedAt = System.currentTimeMillis() / 1000;
        ServerInfo.Info info = new ServerInfo.Info(ServerInfo.run(store.info()), store.sae().id(), store.sae().hook(), store.featureCount(), live != null,
                live == null ? null : live.modelName(),
                new ServerInfo.LimitsView(limits.concurrency(), limits.queueCapacity(), limits.requestTimeout().toSeconds(), limits.maxPromptTokens(),
                        limits.maxNewTokens(), Requests.defaultMaxTokens(limits)),
                browse.typicalMaxActivation());
        byte[] openApi = OpenApi.document();

        return Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.maxRequestSize = limits.maxBodyBytes();
            config.http.prefer405over404 = true;
            config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
            config.jetty.modifyServer(server -> {
                server.setErrorHandler(new JsonErrorHandler());
                // Jetty's log rather than Javalin's: it also sees the requests Jetty answers itself (a bad URI, headers
                // too large), which never reach a route.
                if (options.requestLog()) {
                    server.setRequestLog((request, response) -> log.println("loupe serve: "
                            // Jetty names a request it could not parse "BAD /badMessage"
                            + ("BAD".equals(request.getMethod()) ? "(a malformed request)" : request.getMethod() + " " + request.getHttpURI().getPath())
                            + " " + response.getStatus() + " " + (System.nanoTime() - request.getBeginNanoTime()) / 1_000_000 + " ms"));
                }
            });
            config.routes.before(guard::check);

            config.routes.get("/", ctx -> pages.serve(ctx, "index.html"));
            config.routes.get("/{file}", ctx -> pages.serve(ctx, ctx.pathParam("file")));

            config.routes.get("/api/info", ctx -> ctx.json(info));
            config.routes.get("/api/openapi.json", ctx -> ctx.contentType("application/json").result(openApi));
            config.routes.get("/api/features", browse::features);
            config.routes.get("/api/features/{id}", browse::card);
            config.routes.get("/api/features/{id}/summary", browse::summary);
            config.routes.get("/api/features/{id}/examples", browse::examples);
            config.routes.get("/api/features/{id}/histogram", browse::histogram);
            config.routes.get("/api/features/{id}/logits", browse::logits);
            config.routes.get("/api/features/{id}/neighbours", browse::neighbours);
            config.routes.get("/api/features/{id}/explanations", ctx -> explanations.forFeature(ctx, browse.feature(ctx)));
            config.routes.get("/api/explanations", explanations::search);
            config.routes.get("/api/documents/{doc}", browse::document);

            config.routes.post("/api/features/{id}/activations", live(liveApi, limits, (ctx, deadline) -> liveApi.featureActivations(ctx, browse.feature(ctx), deadline)));
            config.routes.post("/api/inspect", live(liveApi, limits, (ctx, deadline) -> liveApi.inspect(ctx, deadline)));
            config.routes.post("/api/attribute", live(attribution, limits, attribution == null ? null : attribution::why));
            config.routes.post("/api/shield", live(liveApi, limits, (ctx, deadline) -> liveApi.shield(ctx, deadline)));
            config.routes.post("/api/search", live(liveApi, limits, (ctx, deadline) -> liveApi.search(ctx, deadline, browse)));
            config.routes.post("/api/steer", live(steer, limits, steer == null ? null : steer::handle));
            config.routes.get("/v1/models", ctx -> {
                if (chat == null) throw ApiException.notAvailable(NO_MODEL);
                ctx.json(chat.models(startedAt));
            });
            config.routes.post("/v1/chat/completions", live(chat, limits, chat == null ? null : chat::handle));
            NeuronpediaApi.register(config.routes, neuronpedia, limits);
            config.routes.post("/v1/completions", live(completions, limits, completions == null ? null : completions::handle));
            config.routes.post("/tokenize", live(tokenize, limits, tokenize == null ? null : (ctx, deadline) -> tokenize.tokenize(ctx)));
            config.routes.post("/detokenize", live(tokenize, limits, tokenize == null ? null : (ctx, deadline) -> tokenize.detokenize(ctx)));

            answerErrors(config, log, clientsGone);
        });
    }

    /**
     * How a route's failure is answered: a refusal it chose ({@link ApiException}, Javalin's own) with its status;
     * wrong input ({@link BadInputException}, from any module) with a 400 naming it; anything else is the server's
     * fault, a 500 with one generic line (no exception names or internals) and the stack trace on the server's log.
     * Package-private so that a test can put it on a route of its own.
     */
    static void answerErrors(io.javalin.config.JavalinConfig config, PrintStream log, AtomicLong clientsGone) {
        config.routes.exception(ApiException.class, (e, ctx) -> {
            if (!ctx.res().isCommitted()) Errors.write(ctx, e);
        });
        config.routes.exception(HttpResponseException.class, (e, ctx) -> {
            if (!ctx.res().isCommitted()) Errors.write(ctx, fromJavalin(e));
        });
        config.routes.exception(SseStream.ClientGone.class, (e, ctx) -> {
            clientsGone.incrementAndGet();
            // Nobody reads it: for the request log, nginx's "client closed request" rather than a 200.
            if (!ctx.res().isCommitted()) ctx.status(499);
        });
        config.routes.exception(BadInputException.class, (e, ctx) -> {
            if (!ctx.res().isCommitted()) Errors.write(ctx, ApiException.badRequest(e.getMessage(), e.parameter()));
        });
        config.routes.exception(Exception.class, (e, ctx) -> Errors.internal(ctx, e, log));
        config.router.javaLangErrorHandler((res, error) -> {
            log.println("loupe serve: request failed: " + error);
            if (res.isCommitted()) return;
            try {
                res.setStatus(500);
                res.setContentType("application/json");
                res.getOutputStream().write(Json.write(new Errors.Body(new Errors.Detail(
                        "the server ran out of " + (error instanceof OutOfMemoryError ? "memory" : "stack") + " on this request",
                        "server_error", null, null))).getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the client is gone
            }
        });
    }

    static final String NO_MODEL = "this server has no model: the live pages and /v1 need one (start it with --model PATH --sae DIR)";

    /** A live request's work, given its deadline ({@link System#nanoTime()} scale). */
    interface LiveHandler {
        void handle(Context ctx, long deadline) throws Exception;
    }

    private static Handler live(Object api, Limits limits, LiveHandler handler) {
        return ctx -> {
            if (api == null) throw ApiException.notAvailable(NO_MODEL);
            handler.handle(ctx, System.nanoTime() + limits.requestTimeout().toNanos());
        };
    }

    private static ApiException fromJavalin(HttpResponseException e) {
        String m = e.getMessage() == null || e.getMessage().isBlank() ? "HTTP " + e.getStatus() : e.getMessage();
        return switch (e.getStatus()) {
            case 404 -> ApiException.notFound(m);
            case 405 -> ApiException.methodNotAllowed(m);
            case 413 -> ApiException.tooLarge("the request body is larger than the server's limit", null);
            case 415 -> ApiException.unsupportedMediaType(m);
            default -> ApiException.badRequest(m);
        };
    }
}
