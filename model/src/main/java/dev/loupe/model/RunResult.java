package dev.loupe.model;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.ActivationCache;

/**
 * The outcome of a forward run.
 *
 * @param logits    {@code [logitRows, vocab]} row-major after the final softcap, or null when none were asked for
 * @param logitRows number of positions with logits (the last ones of the sequence)
 * @param positions number of positions processed
 * @param cache     the activations cached at the requested hook points
 */
public record RunResult(float[] logits, int logitRows, int positions, int vocab, ActivationCache cache) {
    /** Logits of one position; {@code position} counts from the start of the sequence. */
    public float[] logitsAt(int position) {
        int row = position - (positions - logitRows);
        if (logits == null || row < 0 || row >= logitRows) {
            throw new BadInputException("no logits for position " + position + " (have the last " + logitRows + ")");
        }
        float[] out = new float[vocab];
        System.arraycopy(logits, row * vocab, out, 0, vocab);
        return out;
    }

    /** Log-probabilities (log-softmax of the logits) at one position, {@code [vocab]}. */
    public double[] logProbsAt(int position) {
        float[] l = logitsAt(position);
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) max = Math.max(max, v);
        double sum = 0;
        for (float v : l) sum += Math.exp(v - max);
        double logZ = max + Math.log(sum);
        double[] out = new double[l.length];
        for (int i = 0; i < l.length; i++) out[i] = l[i] - logZ;
        return out;
    }

    /** The arg-max token at a position. */
    public int argmax(int position) {
        float[] l = logitsAt(position);
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }
}
