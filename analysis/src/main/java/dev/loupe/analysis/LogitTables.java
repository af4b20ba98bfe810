package dev.loupe.analysis;

import dev.loupe.model.Model;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.sae.Sae;

/**
 * Neuronpedia's logit tables: for each feature, the tokens its decoder direction promotes and suppresses most,
 * {@code W_dec[f] · W_U} with the tied embedding as {@code W_U} (no final norm, no softcap). Computed in chunks of
 * features as one blocked matrix product against the embedding on the model's backend, keeping only the top and
 * bottom {@code n} of each row.
 */
final class LogitTables {
    static final int CHUNK = 32;

    final int n;
    final int[] promotedIds, suppressedIds;
    final float[] promotedValues, suppressedValues;

    private LogitTables(int dSae, int n) {
        this.n = n;
        promotedIds = new int[dSae * n];
        suppressedIds = new int[dSae * n];
        promotedValues = new float[dSae * n];
        suppressedValues = new float[dSae * n];
    }

    /** No tables: every feature's lists are empty. */
    static LogitTables empty(int dSae) { return new LogitTables(dSae, 0); }

    static LogitTables compute(Model model, Sae sae, int n, IndexProgress progress) {
        int dSae = sae.dSae(), d = sae.dIn();
        WeightTensor embedding = model.weights().embedding();
        int vocab = embedding.rows();
        int keep = Math.min(n, vocab);
        LogitTables t = new LogitTables(dSae, keep);
        float[] x = new float[CHUNK * d];
        float[] out = new float[CHUNK * vocab];
        for (int f0 = 0; f0 < dSae; f0 += CHUNK) {
            int rows = Math.min(CHUNK, dSae - f0);
            for (int r = 0; r < rows; r++) System.arraycopy(sae.direction(f0 + r), 0, x, r * d, d);
            model.backend().matmul(embedding, x, 0, rows, out, 0);
            final int base = f0;
            model.backend().parallelFor(rows, r -> t.select(base + r, out, r * vocab, vocab));
        }
        return t;
    }

    /** Keeps the {@code n} largest and smallest values of one row (ties: lower token id first). */
    private void select(int f, float[] row, int off, int vocab) {
        int[] topI = new int[n], botI = new int[n];
        float[] topV = new float[n], botV = new float[n];
        int nt = 0, nb = 0;
        for (int i = 0; i < vocab; i++) {
            float v = row[off + i];
            if (nt < n || v > topV[nt - 1]) nt = insert(topI, topV, nt, i, v, true);
            if (nb < n || v < botV[nb - 1]) nb = insert(botI, botV, nb, i, v, false);
        }
        System.arraycopy(topI, 0, promotedIds, f * n, n);
        System.arraycopy(topV, 0, promotedValues, f * n, n);
        System.arraycopy(botI, 0, suppressedIds, f * n, n);
        System.arraycopy(botV, 0, suppressedValues, f * n, n);
    }

    /** Inserts into a sorted list of at most {@code ids.length} entries (descending when {@code largest}); returns the new size. */
    private static int insert(int[] ids, float[] vals, int size, int id, float v, boolean largest) {
        int cap = ids.length;
        int i = Math.min(size, cap - 1);
        // shift entries that v beats one place down (ties keep the earlier, lower id first)
        while (i > 0 && (largest ? v > vals[i - 1] : v < vals[i - 1])) {
            if (i < cap) {
                ids[i] = ids[i - 1];
                vals[i] = vals[i - 1];
            }
            i--;
        }
        ids[i] = id;
        vals[i] = v;
        return Math.min(size + 1, cap);
    }
}
