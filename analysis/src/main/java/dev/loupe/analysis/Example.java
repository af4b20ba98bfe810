package dev.loupe.analysis;

import java.util.List;

/**
 * An activating example of a feature (a row of {@code top_examples.arrow}) with its decoded context window.
 *
 * @param kind       {@code "top"} or {@code "quantile_k"} (k = 1 is the highest band below the top)
 * @param rank       0-based within (feature, kind)
 * @param pos        the activating token's position in its document ({@code <bos>} is position 0)
 * @param window     the tokens around {@code pos} (±N, clipped to the document), in order
 */
public record Example(String kind, int rank, int docId, int pos, float activation, List<ContextToken> window) {
    public Example {
        window = List.copyOf(window);
    }
}
