package dev.loupe.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.analysis.FeatureActivation;
import dev.loupe.analysis.InferenceSearch;
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
        try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
            result = live.inspect(ids, topK, feature);
        }
        ctx.json(result);
    }

    record FeatureText(int feature, String hook, float max, List<LiveModel.InspectedToken> tokens) {}

    /** {@code POST /api/features/{id}/activations {"text"}}: the feature's activation at every token of the text. */
    void featureActivations(Context ctx, int feature, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        String text = Json.requireString(body, "text");
        int[] ids = live.encode(text, "text");
        LiveModel.Inspection result;
        try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
            result = live.inspect(ids, 0, feature);
        }
        float max = 0;
        for (LiveModel.InspectedToken t : result.tokens()) if (t.index() > 0 || t.id() != live.tokenizer().bosId()) max = Math.max(max, t.value());
        ctx.json(new FeatureText(feature, result.hook(), max, result.tokens()));
    }

    record SearchResult(String hook, List<InferenceSearch.TokenFeatures> tokens, List<FeatureActivation> overall) {}

    /** {@code {"text", "k"?}}: Neuronpedia's search via inference, per token and over the text. */
    void search(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        String text = Json.requireString(body, "text");
        int k = Json.optInt(body, "k", 10, 1, MAX_TOP);
        int[] ids = live.encode(text, "text");
        InferenceSearch.Result r;
        try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
            r = search.search(ids, k);
        }
        ctx.json(new SearchResult(live.hook(), r.tokens(), r.overall()));
    }
}
