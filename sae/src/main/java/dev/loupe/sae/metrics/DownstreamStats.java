package dev.loupe.sae.metrics;

/**
 * Running sums for the SAE's effect on the model's predictions: next-token cross-entropy of the clean run, with
 * the SAE spliced in and with its hook zero-ablated, and KL divergence of the latter two against the clean run.
 * Means are over all predicted positions (CE) and all positions (KL) added.
 */
public final class DownstreamStats {
    private double ceClean, ceSae, ceAblated, klSae, klAblated;
    private long cePositions, klPositions;

    /** Adds one sequence's three sets of {@code [n, vocab]} logits. */
    public void add(int[] tokens, int vocab, float[] clean, float[] withSae, float[] ablated) {
        double[] c = SaeMetrics.crossEntropyPerToken(clean, vocab, tokens);
        double[] s = SaeMetrics.crossEntropyPerToken(withSae, vocab, tokens);
        double[] a = SaeMetrics.crossEntropyPerToken(ablated, vocab, tokens);
        for (int i = 0; i < c.length; i++) {
            ceClean += c[i];
            ceSae += s[i];
            ceAblated += a[i];
        }
        cePositions += c.length;
        double[] ks = SaeMetrics.klDivergencePerPosition(clean, withSae, vocab);
        double[] ka = SaeMetrics.klDivergencePerPosition(clean, ablated, vocab);
        for (int i = 0; i < ks.length; i++) {
            klSae += ks[i];
            klAblated += ka[i];
        }
        klPositions += ks.length;
    }

    public double ceLossWithoutSae() { return ceClean / cePositions; }

    public double ceLossWithSae() { return ceSae / cePositions; }

    public double ceLossWithAblation() { return ceAblated / cePositions; }

    public double ceLossScore() { return SaeMetrics.ceLossScore(ceLossWithoutSae(), ceLossWithSae(), ceLossWithAblation()); }

    public double klDivWithSae() { return klSae / klPositions; }

    public double klDivWithAblation() { return klAblated / klPositions; }

    public double klDivScore() { return SaeMetrics.klDivScore(klDivWithSae(), klDivWithAblation()); }

    public long predictedPositions() { return cePositions; }
}
