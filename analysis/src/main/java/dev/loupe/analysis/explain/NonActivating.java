package dev.loupe.analysis.explain;

import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.FeatureStore;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Excerpts of the run where a feature is silent, for detection scoring: "similar" ones, centred on a token equal to
 * the one the feature fires on in its top example, and random ones. Both are looked for in a bounded number of
 * tries, so a feature that fires nearly everywhere gets fewer.
 */
final class NonActivating {
    static final int TRIES = 400;

    private NonActivating() {}

    static List<Explainer.Excerpt> find(FeatureStore store, int f, int context, Example top, int count, Random rnd) {
        List<Explainer.Excerpt> out = new ArrayList<>();
        int docs = store.documentCount();
        int token = top.window().stream().filter(t -> t.pos() == top.pos()).mapToInt(ContextToken::tokenId).findFirst().orElse(-1);
        int similar = count / 2;
        for (int t = 0; t < TRIES && out.size() < similar; t++) {
            int doc = rnd.nextInt(docs);
            List<ContextToken> all = store.tokens(doc, 0, store.documentLength(doc));
            List<Integer> at = new ArrayList<>();
            for (ContextToken c : all) if (c.tokenId() == token) at.add(c.pos());
            if (at.isEmpty()) continue;
            Explainer.Excerpt x = silent(store, f, doc, at.get(rnd.nextInt(at.size())), context);
            if (x != null) out.add(x);
        }
        for (int t = 0; t < TRIES && out.size() < count; t++) {
            int doc = rnd.nextInt(docs);
            int len = store.documentLength(doc);
            if (len < 2) continue;
            Explainer.Excerpt x = silent(store, f, doc, 1 + rnd.nextInt(len - 1), context);
            if (x != null) out.add(x);
        }
        return out;
    }

    /** The window around {@code pos} when the feature is silent on all of it, else null. */
    private static Explainer.Excerpt silent(FeatureStore store, int f, int doc, int pos, int context) {
        int from = Math.max(0, pos - context), to = Math.min(store.documentLength(doc), pos + context + 1);
        List<ContextToken> w = store.activations(f, doc, from, to);
        for (ContextToken c : w) if (c.activation() != 0) return null;
        return Explainer.Excerpt.of(w);
    }
}
