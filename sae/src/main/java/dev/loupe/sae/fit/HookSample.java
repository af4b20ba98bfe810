package dev.loupe.sae.fit;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.model.Model;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The activations of one hook point over a set of token sequences, one row per kept position, with where each
 * row came from. Positions holding ignored tokens are left out (SAELens's {@code ignore_tokens}: the
 * {@code <bos>} residual is orders of magnitude larger than the rest and would dominate any fit).
 *
 * @param hook      the hook point
 * @param width     values per row (d_model for residual hooks)
 * @param data      {@code [rows, width]} row-major
 * @param tokens    the token at each row
 * @param documents the index of each row's sequence in the list given to {@link #collect}
 * @param positions each row's position within its sequence
 */
public record HookSample(String hook, int width, float[] data, int[] tokens, int[] documents, int[] positions) {
    public HookSample {
        int rows = tokens.length;
        if (documents.length != rows || positions.length != rows || (long) rows * width != data.length) {
            throw new IllegalArgumentException("hook sample at " + hook + ": " + data.length + " values, " + rows + " tokens, "
                    + documents.length + " document indices and " + positions.length + " positions do not describe [rows, "
                    + width + "]");
        }
    }

    public int rows() { return tokens.length; }

    /**
     * Runs {@code model} on each sequence (as given: include {@code <bos>}), only as far as {@code hook}, and keeps
     * the rows whose token is not in {@code ignoredTokens}, stopping after {@code maxRows} rows.
     */
    public static HookSample collect(Model model, String hook, List<int[]> sequences, Set<Integer> ignoredTokens, int maxRows) {
        if (maxRows < 1) throw new BadInputException("the sample needs room for at least one row, got " + maxRows);
        model.hookPoints().id(hook);  // an unknown name fails before any compute
        int width = -1, rows = 0;
        float[] data = new float[0];
        int[] tokens = new int[0], documents = new int[0], positions = new int[0];
        for (int doc = 0; doc < sequences.size() && rows < maxRows; doc++) {
            int[] seq = sequences.get(doc);
            if (seq.length == 0) continue;
            Activation a = model.activation(seq, hook);
            int w = a.data().length / a.positions();
            if (width < 0) width = w;
            for (int p = 0; p < seq.length && rows < maxRows; p++) {
                if (ignoredTokens.contains(seq[p])) continue;
                if (rows == tokens.length) {
                    int grown = (int) Math.min(maxRows, Math.max(1024L, 2L * rows));
                    if ((long) grown * width > Integer.MAX_VALUE - 8) {
                        throw new IllegalArgumentException("hook sample at " + hook + ": " + grown + " rows of " + width
                                + " values do not fit in one array; sample fewer tokens");
                    }
                    data = Arrays.copyOf(data, grown * width);
                    tokens = Arrays.copyOf(tokens, grown);
                    documents = Arrays.copyOf(documents, grown);
                    positions = Arrays.copyOf(positions, grown);
                }
                System.arraycopy(a.data(), p * width, data, rows * width, width);
                tokens[rows] = seq[p];
                documents[rows] = doc;
                positions[rows] = p;
                rows++;
            }
        }
        if (rows == 0) throw new BadInputException("no positions at " + hook + ": the sequences are empty or hold only ignored tokens");
        return new HookSample(hook, width, Arrays.copyOf(data, rows * width), Arrays.copyOf(tokens, rows),
                Arrays.copyOf(documents, rows), Arrays.copyOf(positions, rows));
    }
}
