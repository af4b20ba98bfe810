package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;

import dev.loupe.sae.SparseFeatures;

import java.util.ArrayList;
import java.util.List;

/**
 * Neuronpedia's "search via inference": run a text through the model to the SAE's hook and list the features
 * most active on it, per token and over the whole text (by maximum activation). The {@code <bos>} position is
 * left out of the overall ranking (its activations are outliers that say nothing about the text).
 */
public final class InferenceSearch {
    private final Model model;
    private final Sae sae;

    private InferenceSearch(Model model, Sae sae) {
        this.model = model;
        this.sae = sae;
    }

    /** Fails with one line when the SAE cannot read its hook point on this model. */
    public static InferenceSearch of(Model model, Sae sae) {
        dev.loupe.sae.SaeCompatibility.require(sae, model);
        return new InferenceSearch(model, sae);
    }

    /** One token of the text and its strongest features. */
    public record TokenFeatures(int pos, int tokenId, String text, List<FeatureActivation> features) {
        public TokenFeatures { features = List.copyOf(features); }
    }

    /** Per-token top features and the overall top features (max activation over the non-{@code <bos>} tokens). */
    public record Result(List<TokenFeatures> tokens, List<FeatureActivation> overall) {
        public Result {
            tokens = List.copyOf(tokens);
            overall = List.copyOf(overall);
        }
    }

    /** Tokenizes {@code text} (with {@code <bos>}) and searches; {@code k} features per token and overall. */
    public Result search(String text, int k) { return search(model.tokenizer().encode(text, true), k); }

    /** As {@link #search(String, int)} for token ids. */
    public Result search(int[] tokens, int k) {
        if (tokens.length == 0) throw new BadInputException("search needs at least one token");
        if (k < 1) throw new BadInputException("k must be at least 1, got " + k);
        SparseFeatures f = sae.encode(model.activation(tokens, sae.hookName()));
        List<TokenFeatures> perToken = new ArrayList<>(tokens.length);
        float[] best = new float[sae.dSae()];
        boolean bos = tokens[0] == model.config().bosId();
        for (int p = 0; p < tokens.length; p++) {
            List<FeatureActivation> top = new ArrayList<>();
            for (SparseFeatures.Feature ft : f.topK(p, k)) top.add(new FeatureActivation(ft.id(), ft.value()));
            String text = model.hasTokenizer() ? model.tokenizer().tokenText(tokens[p]) : "<" + tokens[p] + ">";
            perToken.add(new TokenFeatures(p, tokens[p], text, top));
            if (p == 0 && bos && tokens.length > 1) continue;
            int[] ids = f.ids(p);
            float[] vals = f.values(p);
            for (int i = 0; i < ids.length; i++) if (vals[i] > best[ids[i]]) best[ids[i]] = vals[i];
        }
        List<FeatureActivation> overall = new ArrayList<>();
        for (int id = 0; id < best.length; id++) if (best[id] > 0) overall.add(new FeatureActivation(id, best[id]));
        overall.sort((a, b) -> a.activation() != b.activation() ? Float.compare(b.activation(), a.activation()) : Integer.compare(a.featureId(), b.featureId()));
        return new Result(perToken, overall.size() > k ? overall.subList(0, k) : overall);
    }
}
