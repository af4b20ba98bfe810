package dev.loupe.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.grad.Metric;
import dev.loupe.sae.FeatureAttribution;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * "Why this next token": the SAE features that most raised (or lowered) the logit of the chosen next token, or its
 * logit difference against a baseline token, by attribution (activation × gradient, with the error node), per
 * position of the prompt. One forward and one backward pass per request, in a work slot like the other live calls.
 */
final class AttributionApi {
    private final LiveModel live;
    private final WorkQueue queue;

    AttributionApi(LiveModel live, WorkQueue queue) {
        this.live = live;
        this.queue = queue;
    }

    record Token(int index, int id, String text) {}

    record Feature(int feature, float attribution, float maxActivation, float[] byPosition) {}

    record Why(String hook, String metric, double value, int position, Token target, Token baseline, List<Token> tokens,
               List<Feature> features, float[] error) {}

    /** {@code POST /api/attribute {"text" | "tokens", "target"?, "baseline"?, "top_k"?}}. */
    void why(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        int topK = Json.optInt(body, "top_k", 10, 1, LiveApi.MAX_TOP);
        int[] ids = body.has("tokens") ? live.tokenIds(body.get("tokens"), "tokens") : live.encode(Json.requireString(body, "text"), "text");
        int vocab = live.model().config().vocabSize();
        int target = body.hasNonNull("target") ? Json.requireInt(body, "target", 0, vocab - 1) : Metric.AUTO;
        Integer baseline = body.hasNonNull("baseline") ? Json.requireInt(body, "baseline", 0, vocab - 1) : null;
        Metric metric = baseline == null ? Metric.logit(Metric.LAST, target) : Metric.logitDiff(Metric.LAST, target, baseline);
        FeatureAttribution a;
        try (WorkQueue.Slot ignored = queue.acquire(deadline)) {
            a = FeatureAttribution.compute(live.model(), live.sae(), ids, metric, Linearization.NONE);
        }
        int n = a.positions(), dSae = a.dSae();
        float[] total = a.byFeature();
        List<Feature> features = new ArrayList<>();
        IntStream.range(0, dSae).filter(f -> total[f] != 0f).boxed()
                .sorted(Comparator.comparingDouble(f -> -Math.abs(total[f]))).limit(topK)
                .forEach(f -> {
                    float[] byPos = new float[n];
                    float max = 0;
                    for (int p = 0; p < n; p++) {
                        byPos[p] = a.attribution()[p * dSae + f];
                        max = Math.max(max, a.activations()[p * dSae + f]);
                    }
                    features.add(new Feature(f, total[f], max, byPos));
                });
        List<Token> tokens = new ArrayList<>();
        for (int i = 0; i < n; i++) tokens.add(token(i, ids[i]));
        int chosen = (int) a.details().get("target");
        Token base = baseline == null ? null : token(-1, (int) a.details().get("baseline"));
        ctx.json(new Why(a.hook(), (String) a.details().get("metric"), a.metric(), n - 1, token(-1, chosen), base, tokens, features,
                a.errorAttribution()));
    }

    private Token token(int index, int id) { return new Token(index, id, live.tokenizer().tokenText(id)); }
}
