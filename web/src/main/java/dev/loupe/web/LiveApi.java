package dev.loupe.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.analysis.FeatureActivation;
import dev.loupe.analysis.InferenceSearch;
import dev.loupe.errors.BadInputException;
import io.javalin.http.Context;

import java.util.List;

/**
 * The live half of the API, which runs the model: prompt inspection, "test your own text" on a feature, and
 * search via inference. Each request holds a work slot for its forward pass.
 */
final class LiveApi {
    static final int MAX_TOP = 64;

    private final LiveModel live;
    private final WorkQueue queue;
    private final InferenceSearch search;

    LiveApi(LiveModel live, WorkQueue queue) {
        this.live = live;
        this.queue = queue;
        this.search = InferenceSearch.of(live.model(), live.sae());
    }

    /**
     * {@code {"text" | "tokens", "feature"?, "top_k"?}}: every token with its top features, and the chosen feature's
     * value. {@code tokens} (token ids, {@code <bos>} included when wanted) is the TransformerLens way in.
     */
    void inspect(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        int topK = Json.optInt(body, "top_k", 5, 0, MAX_TOP);
        Integer feature = null;
        if (body.hasNonNull("feature")) {
            int f = Json.requireInt(body, "feature", Integer.MIN_VALUE, Integer.MAX_VALUE);
            live.checkFeature(f, "feature");
            feature = f;
        }
        int[] ids = body.has("tokens") ? live.tokenIds(body.get("tokens"), "tokens") : live.encode(Json.requireString(body, "text"), "text");
        LiveModel.Inspection result;
        try (WorkQueue.Slot ignored = queue.acquire(deadline, ClientLink.of(ctx))) {
            result = live.inspect(ids, topK, feature);
        }
        ctx.json(result);
    }

    record ShieldFeature(int position, String token, int feature, float activation, float attribution) {}

    record ShieldResult(double pYes, String promptText, int[] tokenIds, float yesLogit, float noLogit, List<ShieldFeature> features,
                        String featuresNote) {}

    /**
     * {@code POST /api/shield {"prompt", "response"?, "policy", "top_k"?}}: ShieldGemma's P(Yes) and the live SAE's
     * features that push toward Yes. A model without a backward pass (not Gemma 2) gives P(Yes) and a note instead.
     */
    void shield(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        int topK = Json.optInt(body, "top_k", 10, 0, MAX_TOP);
        dev.loupe.model.shield.ShieldGemma.Request request;
        try {
            request = new dev.loupe.model.shield.ShieldGemma.Request(Json.requireString(body, "prompt"),
                    body.hasNonNull("response") ? Json.requireString(body, "response") : null, Json.requireString(body, "policy"));
        } catch (BadInputException e) {
            throw ApiException.badRequest(e.getMessage(), e.parameter());
        }
        try (WorkQueue.Slot ignored = queue.acquire(deadline, ClientLink.of(ctx))) {
            dev.loupe.model.shield.ShieldGemma.Result r = dev.loupe.model.shield.ShieldGemma.score(live.model(), request);
            List<ShieldFeature> features = new java.util.ArrayList<>();
            String note = null;
            if (topK > 0) {
                try {
                    for (var e : dev.loupe.sae.ShieldFeatures.towardYes(live.model(), live.sae(), r, topK)) {
                        features.add(new ShieldFeature(e.position(), live.tokenizer().tokenText(r.tokenIds()[e.position()]), e.feature(),
                                e.activation(), e.attribution()));
                    }
                } catch (IllegalArgumentException e) {
                    note = e.getMessage();
                }
            }
            ctx.json(new ShieldResult(r.pYes(), r.promptText(), r.tokenIds(), r.yesLogit(), r.noLogit(), features, note));
        }
    }

    record FeatureText(int feature, String hook, float max, List<LiveModel.InspectedToken> tokens) {}

    /** {@code POST /api/features/{id}/activations {"text"}}: the feature's activation at every token of the text. */
    void featureActivations(Context ctx, int feature, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        String text = Json.requireString(body, "text");
        int[] ids = live.encode(text, "text");
        LiveModel.Inspection result;
        try (WorkQueue.Slot ignored = queue.acquire(deadline, ClientLink.of(ctx))) {
            result = live.inspect(ids, 0, feature);
        }
        float max = 0;
        for (LiveModel.InspectedToken t : result.tokens()) if (t.index() > 0 || t.id() != live.tokenizer().bosId()) max = Math.max(max, t.value());
        ctx.json(new FeatureText(feature, result.hook(), max, result.tokens()));
    }

    /** A feature of the search's result, with its density over the corpus run (null when the run lacks it). */
    record Found(int featureId, float activation, Double density) {}

    record SearchResult(String hook, List<InferenceSearch.TokenFeatures> tokens, List<Found> overall) {}

    /**
     * {@code {"text", "k"?, "max_density"?}}: Neuronpedia's search via inference, per token and over the text.
     * {@code max_density} (0–1) leaves out features that fire on more than that share of the run's tokens: dense
     * features fire strongly on nearly any text and would otherwise crowd the results.
     */
    void search(Context ctx, long deadline, BrowseApi browse) {
        ObjectNode body = Json.object(ctx.body());
        String text = Json.requireString(body, "text");
        int k = Json.optInt(body, "k", 10, 1, MAX_TOP);
        double maxDensity = Json.optNumber(body, "max_density", 1, 0, 1);
        int[] ids = live.encode(text, "text");
        // With a density filter, look further down the list so that k remain after it.
        int wide = maxDensity < 1 ? Math.min(live.dSae(), Math.max(4 * k, 256)) : k;
        InferenceSearch.Result r;
        try (WorkQueue.Slot ignored = queue.acquire(deadline, ClientLink.of(ctx))) {
            r = search.search(ids, wide);
        }
        List<Found> overall = r.overall().stream()
                .map(f -> new Found(f.featureId(), f.activation(), browse.density(f.featureId())))
                .filter(f -> f.density() == null || f.density() <= maxDensity)
                .limit(k).toList();
        List<InferenceSearch.TokenFeatures> tokens = wide == k ? r.tokens() : r.tokens().stream()
                .map(t -> new InferenceSearch.TokenFeatures(t.pos(), t.tokenId(), t.text(), t.features().subList(0, Math.min(k, t.features().size()))))
                .toList();
        ctx.json(new SearchResult(live.hook(), tokens, overall));
    }
}
