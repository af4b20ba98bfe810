package dev.loupe.web;

import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.FeatureCard;
import dev.loupe.analysis.FeatureColumn;
import dev.loupe.analysis.FeaturePage;
import dev.loupe.analysis.FeatureQuery;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.FeatureSummary;
import dev.loupe.analysis.Histogram;
import dev.loupe.analysis.Neighbour;
import dev.loupe.analysis.RunManifest;
import dev.loupe.analysis.TokenValue;
import dev.loupe.sae.Sae;
import io.javalin.http.Context;

import java.util.List;

/**
 * The browsing half of the API: answered from the corpus run's files alone, with no forward pass, so it needs no
 * work slot; decoder neighbours, which stream the SAE's whole decoder, take one.
 */
final class BrowseApi {
    static final int MAX_PAGE = 500;
    static final int MAX_CONTEXT = 64;
    static final int MAX_NEIGHBOURS = 100;

    private final FeatureStore store;
    private final Sae sae;   // the run's SAE for decoder neighbours, or null when its folder is not at hand
    private final WorkQueue queue;
    private final Limits limits;

    BrowseApi(FeatureStore store, Sae sae, WorkQueue queue, Limits limits) {
        this.store = store;
        this.sae = sae;
        this.queue = queue;
        this.limits = limits;
    }

    FeatureStore store() { return store; }

    record Page(int total, int offset, int limit, String sort, String order, List<FeatureSummary> rows) {}

    void features(Context ctx) {
        String sortName = ctx.queryParam("sort");
        FeatureColumn sort;
        try {
            sort = sortName == null || sortName.isBlank() ? FeatureColumn.ID : FeatureColumn.parse(sortName.strip());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("query parameter 'sort': " + e.getMessage(), "sort");
        }
        String order = ctx.queryParam("order");
        boolean descending;
        if (order == null || order.isBlank()) descending = sort != FeatureColumn.ID;
        else if (order.equalsIgnoreCase("desc")) descending = true;
        else if (order.equalsIgnoreCase("asc")) descending = false;
        else throw ApiException.badRequest("query parameter 'order' must be asc or desc, got \"" + QueryParams.clip(order) + "\"", "order");
        int offset = QueryParams.intParam(ctx, "offset", 0, 0, Integer.MAX_VALUE);
        int limit = QueryParams.intParam(ctx, "limit", 50, 0, MAX_PAGE);
        double minDensity = QueryParams.doubleParam(ctx, "min_density", 0, 0, 1);
        double maxDensity = QueryParams.doubleParam(ctx, "max_density", 1, 0, 1);
        // Dead features have density exactly 0; the smallest positive density keeps every feature that fired once.
        if (QueryParams.boolParam(ctx, "hide_dead", false)) minDensity = Math.max(minDensity, Double.MIN_VALUE);
        String q = ctx.queryParam("q");
        if (q != null && q.length() > 200) throw ApiException.badRequest("query parameter 'q' is longer than 200 characters", "q");
        FeatureQuery query = FeatureQuery.all().sortBy(sort).densityBetween(minDensity, maxDensity).promotedTokenMatching(q).page(offset, limit);
        query = descending ? query.descending() : query.ascending();
        FeaturePage page = store.features(query);
        ctx.json(new Page(page.total(), offset, limit, sort.column(), descending ? "desc" : "asc", page.rows()));
    }

    record Card(int feature, String hook, FeatureSummary summary, Histogram histogram, List<Example> examples) {}

    void card(Context ctx) {
        int f = feature(ctx);
        FeatureCard card = store.card(f, QueryParams.intParam(ctx, "context", 8, 0, MAX_CONTEXT));
        ctx.json(new Card(f, store.sae().hook(), card.summary(), card.histogram(), card.examples()));
    }

    record Examples(int feature, List<Example> examples) {}

    void examples(Context ctx) {
        int f = feature(ctx);
        ctx.json(new Examples(f, store.examples(f, QueryParams.intParam(ctx, "context", 8, 0, MAX_CONTEXT))));
    }

    record HistogramView(int feature, Histogram histogram) {}

    void histogram(Context ctx) {
        int f = feature(ctx);
        ctx.json(new HistogramView(f, store.histogram(f)));
    }

    void summary(Context ctx) { ctx.json(store.summary(feature(ctx))); }

    record Logits(int feature, List<TokenValue> topPromoted, List<TokenValue> topSuppressed) {}

    void logits(Context ctx) {
        int f = feature(ctx);
        FeatureSummary s = store.summary(f);
        ctx.json(new Logits(f, s.topPromoted(), s.topSuppressed()));
    }

    record Neighbours(int feature, List<Neighbour> neighbours) {}

    void neighbours(Context ctx) {
        int f = feature(ctx);
        int k = QueryParams.intParam(ctx, "k", 10, 1, MAX_NEIGHBOURS);
        if (sae == null) {
            throw ApiException.notAvailable("decoder neighbours need the run's SAE, and its folder was not found; start the server with --sae DIR");
        }
        // Streams all of W_dec (gigabytes for a 1M-wide SAE): heavy work, so it waits its turn like a forward pass.
        List<Neighbour> nn;
        try (WorkQueue.Slot ignored = queue.acquire(System.nanoTime() + limits.requestTimeout().toNanos())) {
            nn = store.nearestByDecoder(sae, f, k);
        }
        ctx.json(new Neighbours(f, nn));
    }

    int feature(Context ctx) { return QueryParams.feature(ctx, store.featureCount()); }

    /** A feature's max activation over the run, for clamping to a multiple of it; null when it never fired. */
    Float maxActivation(int f) {
        if (f < 0 || f >= store.featureCount()) return null;
        FeatureSummary s = store.summary(f);
        return s.fireCount() > 0 ? s.maxActivation() : null;
    }

    /** A feature's share of the run's tokens, or null for a feature outside the run. */
    Double density(int f) { return f < 0 || f >= store.featureCount() ? null : store.summary(f).density(); }

    /**
     * The median max activation over the features that fired in the run, or null when none did: the scale the
     * pages shade a weak feature on (see {@link ServerInfo.Info}).
     */
    Float typicalMaxActivation() {
        FeatureQuery live = FeatureQuery.all().sortBy(FeatureColumn.MAX_ACTIVATION).densityBetween(Double.MIN_VALUE, 1).ascending();
        int n = store.features(live.page(0, 0)).total();
        if (n == 0) return null;
        List<FeatureSummary> mid = store.features(live.page(n / 2, 1)).rows();
        return mid.isEmpty() ? null : mid.getFirst().maxActivation();
    }

    static final int MAX_DOCUMENT_SPAN = 4096;

    record DocumentView(int docId, String source, int length, int from, int to, Integer feature, List<ContextToken> tokens) {}

    /**
     * {@code GET /api/documents/{doc}?from&to&feature}: tokens [from, to) of a document (the whole of it up to
     * {@link #MAX_DOCUMENT_SPAN} tokens by default), with one feature's activation at each when {@code feature} is
     * given. The pages use it to widen an example's context and to show its document.
     */
    void document(Context ctx) {
        String raw = ctx.pathParam("doc");
        long doc;
        try {
            doc = QueryParams.parseAsciiLong(raw);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("a document id must be an integer, got \"" + QueryParams.clip(raw) + "\"", "doc");
        }
        if (doc < 0 || doc >= store.documentCount()) {
            throw ApiException.notFound("document " + doc + " does not exist: this run has documents 0.." + (store.documentCount() - 1));
        }
        int d = (int) doc, length = store.documentLength(d);
        int from = QueryParams.intParam(ctx, "from", 0, 0, Integer.MAX_VALUE);
        int to = QueryParams.intParam(ctx, "to", Math.min(length, from + MAX_DOCUMENT_SPAN), 0, Integer.MAX_VALUE);
        from = Math.min(from, length);
        to = Math.min(Math.max(to, from), length);
        if (to - from > MAX_DOCUMENT_SPAN) {
            throw ApiException.badRequest("query parameters 'from' and 'to' span " + (to - from) + " tokens; at most " + MAX_DOCUMENT_SPAN + " per request", "to");
        }
        Integer feature = null;
        if (ctx.queryParam("feature") != null && !ctx.queryParam("feature").isBlank()) {
            feature = QueryParams.intParam(ctx, "feature", 0, 0, store.featureCount() - 1);
        }
        List<ContextToken> tokens = feature == null ? store.tokens(d, from, to) : store.activations(feature, d, from, to);
        ctx.json(new DocumentView(d, ServerInfo.name(store.documentSource(d)), length, from, to, feature, tokens));
    }

    RunManifest info() { return store.info(); }
}
