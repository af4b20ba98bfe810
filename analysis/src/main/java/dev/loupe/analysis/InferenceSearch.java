package dev.loupe.analysis;

import dev.loupe.model.Gemma2;
import dev.loupe.sae.Sae;

import java.util.List;

/**
 * Neuronpedia's "search via inference": run a text through the model to the SAE's hook and list the features
 * most active on it, per token and over the whole text (by maximum activation). The {@code <bos>} position is
 * left out of the overall ranking (its activations are outliers that say nothing about the text).
 */
public final class InferenceSearch {
    private final Gemma2 model;
    private final Sae sae;

    private InferenceSearch(Gemma2 model, Sae sae) {
        this.model = model;
        this.sae = sae;
    }

    public static InferenceSearch of(Gemma2 model, Sae sae) { return new InferenceSearch(model, sae); }

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
    public Result search(String text, int k) { throw new UnsupportedOperationException("analysis API skeleton"); }

    /** As {@link #search(String, int)} for token ids. */
    public Result search(int[] tokens, int k) { throw new UnsupportedOperationException("analysis API skeleton"); }
}
