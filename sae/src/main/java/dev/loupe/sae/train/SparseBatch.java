package dev.loupe.sae.train;

import java.util.Arrays;

/**
 * The (row, feature) pairs of one batch that training touches, row by row: the features that fire (with their
 * activation) and, for some architectures, pairs that do not fire but still get a gradient (JumpReLU pairs inside
 * the threshold's kernel window, with activation 0). Gradients with respect to each pair's activation and
 * pre-activation are filled in by the backward pass.
 */
final class SparseBatch {
    int rows;
    int[] rowStart = new int[1];
    int nnz;
    int[] feature = new int[1024];
    float[] pre = new float[1024];
    float[] act = new float[1024];
    float[] gradAct = new float[1024];
    float[] gradPre = new float[1024];

    void reset(int rows) {
        this.rows = rows;
        if (rowStart.length < rows + 1) rowStart = new int[rows + 1];
        Arrays.fill(rowStart, 0, rows + 1, 0);
        nnz = 0;
    }

    /** Appends row {@code r}'s pairs (rows must be appended in order). */
    void appendRow(int r, RowEntries e) {
        ensure(nnz + e.size);
        System.arraycopy(e.feature, 0, feature, nnz, e.size);
        System.arraycopy(e.pre, 0, pre, nnz, e.size);
        System.arraycopy(e.act, 0, act, nnz, e.size);
        nnz += e.size;
        rowStart[r + 1] = nnz;
    }

    /** Marks rows without pairs (e.g. an architecture that selects nothing) so that row offsets stay valid. */
    void closeRows() {
        for (int r = 0; r < rows; r++) if (rowStart[r + 1] < rowStart[r]) rowStart[r + 1] = rowStart[r];
    }

    /** Drops pairs whose activation is 0 (BatchTopK's candidates that the batch-wide cut left out). */
    void dropZeros() {
        int w = 0;
        for (int r = 0; r < rows; r++) {
            int from = rowStart[r], to = rowStart[r + 1];
            rowStart[r] = w;
            for (int j = from; j < to; j++) {
                if (act[j] == 0f) continue;
                feature[w] = feature[j];
                pre[w] = pre[j];
                act[w] = act[j];
                w++;
            }
        }
        rowStart[rows] = w;
        nnz = w;
    }

    /** Makes the gradient arrays as long as the pair arrays and clears them. */
    void clearGradients() {
        if (gradAct.length < feature.length) {
            gradAct = new float[feature.length];
            gradPre = new float[feature.length];
        }
        Arrays.fill(gradAct, 0, nnz, 0f);
        Arrays.fill(gradPre, 0, nnz, 0f);
    }

    private void ensure(int n) {
        if (n <= feature.length) return;
        int cap = Math.max(n, feature.length * 2);
        feature = Arrays.copyOf(feature, cap);
        pre = Arrays.copyOf(pre, cap);
        act = Arrays.copyOf(act, cap);
    }

    /** One row's pairs while it is being selected (one per row of a chunk, filled in parallel). */
    static final class RowEntries {
        int size;
        int[] feature = new int[64];
        float[] pre = new float[64];
        float[] act = new float[64];

        void clear() { size = 0; }

        void add(int f, float preValue, float activation) {
            if (size == feature.length) {
                feature = Arrays.copyOf(feature, size * 2);
                pre = Arrays.copyOf(pre, size * 2);
                act = Arrays.copyOf(act, size * 2);
            }
            feature[size] = f;
            pre[size] = preValue;
            act[size] = activation;
            size++;
        }
    }
}
