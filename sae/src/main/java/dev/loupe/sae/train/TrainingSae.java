package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.sae.fit.HeapTensor;

import java.util.Arrays;

/**
 * An SAE being trained: one forward and backward pass over a batch of (normalised) activations computes the loss
 * and accumulates the gradients of every parameter. SAELens's conventions: the encoder reads {@code x − b_dec};
 * the reconstruction loss is the squared error summed over {@code d_in} and averaged over the batch.
 *
 * <p>The dense part is the encoder product {@code (x − b_dec)·W_enc} for every feature, on the backend's matrix
 * kernel. Everything after it touches only the (row, feature) pairs the architecture selects (a few per row), so
 * decoding and all gradients cost {@code O(pairs · d_in)}: {@code W_dec}, {@code W_enc} and {@code b_enc}
 * gradients are accumulated feature by feature (no two threads write one row), the rest row by row.
 *
 * <p>One subclass per architecture, as in SAELens: each says which pairs a row keeps ({@link #select}), how the
 * gradient reaches the pre-activations and its own parameters ({@link #activationGradients}), and its sparsity loss.
 */
public abstract sealed class TrainingSae permits StandardTrainingSae, JumpReluTrainingSae, TopKTrainingSae {
    /** Rows whose dense pre-activations are held at once: bounds memory to {@code CHUNK_ROWS · width} floats. */
    static final int CHUNK_ROWS = 256;

    protected final SaeParameters params;
    protected final SaeParameters grads;
    protected final Backend backend;
    protected final int dIn, width;

    final SparseBatch main = new SparseBatch();
    final SparseBatch aux = new SparseBatch();
    private final SparseBatch.RowEntries[] mainRows = new SparseBatch.RowEntries[CHUNK_ROWS];
    private final SparseBatch.RowEntries[] auxRows = new SparseBatch.RowEntries[CHUNK_ROWS];
    private float[] xin = new float[0], xhat = new float[0], gOut = new float[0], pre = new float[0];
    private final long[] fired;
    private boolean[] dead;
    protected int deadCount;
    protected int[] deadList = new int[0];
    protected float sparsityCoefficient;

    protected TrainingSae(SaeParameters params, Backend backend) {
        this.params = params;
        this.grads = params.zerosLike();
        this.backend = backend;
        this.dIn = params.dIn();
        this.width = params.width();
        this.fired = new long[width];
        this.dead = new boolean[width];
        for (int i = 0; i < CHUNK_ROWS; i++) {
            mainRows[i] = new SparseBatch.RowEntries();
            auxRows[i] = new SparseBatch.RowEntries();
        }
    }

    public SaeParameters parameters() { return params; }

    public SaeParameters gradients() { return grads; }

    /** The SAELens architecture name written to {@code cfg.json}. */
    public abstract String saeLensArchitecture();

    /** Whether decoder rows are kept at unit norm (gradients projected, rows renormalised after each step). */
    public abstract boolean unitNormDecoder();

    /** The sparsity coefficient of the next step (L1 for standard, L0 for JumpReLU; the trainer schedules it). */
    public void setSparsityCoefficient(float c) { this.sparsityCoefficient = c; }

    /** Which features count as dead for the next step (TopK's auxiliary loss reads them). */
    public void setDead(boolean[] deadFeatures) {
        this.dead = deadFeatures;
        int n = 0;
        for (boolean d : deadFeatures) if (d) n++;
        if (deadList.length < n) deadList = new int[n];
        n = 0;
        for (int f = 0; f < width; f++) if (deadFeatures[f]) deadList[n++] = f;
        deadCount = n;
    }

    /**
     * Features fired (with a nonzero activation) in each row of the last batch, added up per feature since the
     * last call; the counts are then cleared.
     */
    public long[] takeFired() {
        long[] out = fired.clone();
        Arrays.fill(fired, 0);
        return out;
    }

    /** What one step measured. Losses are per row; {@code l0} is the mean number of firing features per row. */
    public record StepStats(int rows, double mse, double sparsityLoss, double auxLoss, double l0,
                            double squaredError, double centredSquares) {
        public double loss() { return mse + sparsityLoss + auxLoss; }

        public double explainedVariance() { return centredSquares > 0 ? 1 - squaredError / centredSquares : 0; }
    }

    /**
     * Forward and backward over {@code rows} rows of {@code x} ({@code [rows, dIn]}): adds this batch's gradients to
     * {@link #gradients()} (which the optimizer clears) and returns the losses.
     */
    public final StepStats step(float[] x, int rows) {
        long t0 = System.nanoTime();
        if (rows < 1 || (long) rows * dIn > x.length) {
            throw new IllegalArgumentException("batch of " + rows + " rows does not fit " + x.length + " values of width " + dIn);
        }
        ensureScratch(rows);
        float[] bDec = params.bDec();
        backend.parallelFor(rows, b -> TrainKernels.subtract(x, b * dIn, bDec, xin, b * dIn, dIn));
        main.reset(rows);
        aux.reset(rows);
        beginBatch(rows);
        WeightTensor enc = HeapTensor.of("W_enc^T", params.encoder(), width, dIn);
        float[] bEnc = params.bEnc();
        for (int start = 0; start < rows; start += CHUNK_ROWS) {
            int n = Math.min(CHUNK_ROWS, rows - start);
            backend.matmul(enc, xin, start * dIn, n, pre, 0);
            int first = start;
            backend.parallelFor(n, r -> {
                int off = r * width;
                for (int f = 0; f < width; f++) pre[off + f] += bEnc[f];
                mainRows[r].clear();
                auxRows[r].clear();
                select(pre, off, first + r, mainRows[r], auxRows[r]);
            });
            for (int r = 0; r < n; r++) {
                main.appendRow(start + r, mainRows[r]);
                aux.appendRow(start + r, auxRows[r]);
            }
        }
        endSelection(rows);
        main.closeRows();
        aux.closeRows();
        long t1 = System.nanoTime();

        // Decode, reconstruction error and its gradient d(mse)/d(x̂) = 2(x̂ − x)/B, row by row.
        double[] rowErr = new double[rows], rowCentred = new double[rows];
        float[] mean = new float[dIn];
        for (int b = 0; b < rows; b++) TrainKernels.axpy(1f / rows, x, b * dIn, mean, 0, dIn);
        float[] dec = params.decoder();
        float scale = 2f / rows;
        backend.parallelFor(rows, b -> {
            int o = b * dIn;
            System.arraycopy(bDec, 0, xhat, o, dIn);
            for (int j = main.rowStart[b]; j < main.rowStart[b + 1]; j++) {
                float a = main.act[j];
                if (a != 0f) TrainKernels.axpy(a, dec, main.feature[j] * dIn, xhat, o, dIn);
            }
            double err = 0, centred = 0;
            for (int i = 0; i < dIn; i++) {
                float e = xhat[o + i] - x[o + i];
                float c = x[o + i] - mean[i];
                err += (double) e * e;
                centred += (double) c * c;
                gOut[o + i] = scale * e;
            }
            rowErr[b] = err;
            rowCentred[b] = centred;
        });
        double sqErr = 0, sqCentred = 0;
        for (int b = 0; b < rows; b++) {
            sqErr += rowErr[b];
            sqCentred += rowCentred[b];
        }
        double auxLoss = aux.nnz > 0 ? auxForward(x, rows) : 0;

        main.clearGradients();
        aux.clearGradients();
        float[] gAux = auxGradOut;
        backend.parallelFor(rows, b -> {
            for (int j = main.rowStart[b]; j < main.rowStart[b + 1]; j++) {
                main.gradAct[j] = TrainKernels.dot(gOut, b * dIn, dec, main.feature[j] * dIn, dIn);
            }
            for (int j = aux.rowStart[b]; j < aux.rowStart[b + 1]; j++) {
                aux.gradAct[j] = TrainKernels.dot(gAux, b * dIn, dec, aux.feature[j] * dIn, dIn);
            }
        });
        double sparsity = activationGradients(rows);
        long t2 = System.nanoTime();
        accumulateFeatureGradients(rows);
        accumulateDecoderBiasGradient(rows);
        long t3 = System.nanoTime();
        phaseNanos[0] += t1 - t0;
        phaseNanos[1] += t2 - t1;
        phaseNanos[2] += t3 - t2;

        long active = 0;
        for (int j = 0; j < main.nnz; j++) {
            if (main.act[j] != 0f) {
                active++;
                fired[main.feature[j]]++;
            }
        }
        return new StepStats(rows, sqErr / rows, sparsity, auxLoss, (double) active / rows, sqErr, sqCentred);
    }

    private float[] auxGradOut = new float[0];
    private final long[] phaseNanos = new long[3];

    /**
     * Wall time spent so far in the step's phases, in seconds: encode and select, decode and activation gradients,
     * parameter gradients (for benchmarks).
     */
    public double[] phaseSeconds() { return new double[]{phaseNanos[0] / 1e9, phaseNanos[1] / 1e9, phaseNanos[2] / 1e9}; }

    /**
     * TopK's auxiliary loss (AuxK): the dead features' selected pairs reconstruct the main reconstruction's
     * residual {@code x − x̂} (held constant); loss {@code c·Σ‖ê − (x − x̂)‖²/B}.
     */
    private double auxForward(float[] x, int rows) {
        float[] dec = params.decoder();
        float c = auxCoefficient();
        double[] rowLoss = new double[rows];
        float scale = 2f * c / rows;
        backend.parallelFor(rows, b -> {
            int o = b * dIn;
            float[] ehat = new float[dIn];
            for (int j = aux.rowStart[b]; j < aux.rowStart[b + 1]; j++) {
                TrainKernels.axpy(aux.act[j], dec, aux.feature[j] * dIn, ehat, 0, dIn);
            }
            double s = 0;
            for (int i = 0; i < dIn; i++) {
                float diff = ehat[i] - (x[o + i] - xhat[o + i]);
                s += (double) diff * diff;
                auxGradOut[o + i] = scale * diff;
            }
            rowLoss[b] = s;
        });
        double total = 0;
        for (double v : rowLoss) total += v;
        return c * total / rows;
    }

    /** Weight of the auxiliary loss this step (0 when the architecture has none). */
    protected float auxCoefficient() { return 0f; }

    /**
     * {@code W_dec} rows get {@code Σ act·g} over their pairs ({@code g} the gradient at the output each pair
     * decodes into), {@code W_enc^T} rows {@code Σ gradPre·(x − b_dec)} and {@code b_enc} {@code Σ gradPre}; pairs
     * are regrouped by feature so features can be split across threads.
     */
    private void accumulateFeatureGradients(int rows) {
        int total = main.nnz + aux.nnz;
        int[] start = new int[width + 1];
        for (int j = 0; j < main.nnz; j++) start[main.feature[j] + 1]++;
        for (int j = 0; j < aux.nnz; j++) start[aux.feature[j] + 1]++;
        for (int f = 0; f < width; f++) start[f + 1] += start[f];
        int[] fill = Arrays.copyOf(start, width);
        int[] row = new int[total];
        float[] act = new float[total], gradPre = new float[total];
        boolean[] isAux = new boolean[total];
        for (SparseBatch s : new SparseBatch[]{main, aux}) {
            boolean a = s == aux;
            for (int b = 0; b < rows; b++) {
                for (int j = s.rowStart[b]; j < s.rowStart[b + 1]; j++) {
                    int k = fill[s.feature[j]]++;
                    row[k] = b;
                    act[k] = s.act[j];
                    gradPre[k] = s.gradPre[j];
                    isAux[k] = a;
                }
            }
        }
        float[] gDec = grads.decoder(), gEnc = grads.encoder(), gBEnc = grads.bEnc();
        float[] dec = params.decoder();
        float[] gAux = auxGradOut;
        int blocks = Math.min(width, 64 * Math.max(1, Runtime.getRuntime().availableProcessors()));
        backend.parallelFor(blocks, blk -> {
            int from = (int) ((long) width * blk / blocks), to = (int) ((long) width * (blk + 1) / blocks);
            for (int f = from; f < to; f++) {
                int o = f * dIn;
                double sumAct = 0, sumGradPre = 0;
                for (int k = start[f]; k < start[f + 1]; k++) {
                    int b = row[k];
                    if (act[k] != 0f) TrainKernels.axpy(act[k], isAux[k] ? gAux : gOut, b * dIn, gDec, o, dIn);
                    if (gradPre[k] != 0f) TrainKernels.axpy(gradPre[k], xin, b * dIn, gEnc, o, dIn);
                    if (!isAux[k]) sumAct += act[k];
                    sumGradPre += gradPre[k];
                }
                gBEnc[f] += (float) sumGradPre;
                float extra = decoderRowGradient(f, sumAct);
                if (extra != 0f) TrainKernels.axpy(extra, dec, o, gDec, o, dIn);
            }
        });
    }

    /**
     * {@code b_dec} enters the reconstruction directly and the encoder through {@code x − b_dec}:
     * {@code Σ_b g_b − Σ_(b,f) gradPre·W_enc^T[f]}.
     */
    private void accumulateDecoderBiasGradient(int rows) {
        int threads = Math.max(1, Math.min(rows, Runtime.getRuntime().availableProcessors()));
        float[][] partial = new float[threads][dIn];
        float[] enc = params.encoder();
        backend.parallelFor(threads, t -> {
            float[] acc = partial[t];
            for (int b = (int) ((long) rows * t / threads), end = (int) ((long) rows * (t + 1) / threads); b < end; b++) {
                TrainKernels.axpy(1f, gOut, b * dIn, acc, 0, dIn);
                for (SparseBatch s : new SparseBatch[]{main, aux}) {
                    for (int j = s.rowStart[b]; j < s.rowStart[b + 1]; j++) {
                        if (s.gradPre[j] != 0f) TrainKernels.axpy(-s.gradPre[j], enc, s.feature[j] * dIn, acc, 0, dIn);
                    }
                }
            }
        });
        float[] g = grads.bDec();
        for (float[] p : partial) TrainKernels.axpy(1f, p, 0, g, 0, dIn);
    }

    private void ensureScratch(int rows) {
        int n = rows * dIn;
        if (xin.length < n) {
            xin = new float[n];
            xhat = new float[n];
            gOut = new float[n];
            auxGradOut = new float[n];
        }
        if (pre.length < CHUNK_ROWS * width) pre = new float[CHUNK_ROWS * width];
    }

    protected boolean isDead(int f) { return dead[f]; }

    // ---- what each architecture decides ---------------------------------------------------------------

    /** Called before a batch's rows are selected. */
    protected void beginBatch(int rows) {}

    /**
     * Picks row {@code row}'s pairs from its pre-activations {@code pre[off, off + width)} ({@code b_enc} added);
     * runs on several threads at once, one row each.
     */
    protected abstract void select(float[] pre, int off, int row, SparseBatch.RowEntries main, SparseBatch.RowEntries aux);

    /** Called after every row was selected (BatchTopK makes its batch-wide cut here). */
    protected void endSelection(int rows) {}

    /**
     * Sets {@code gradPre} of every pair of {@link #main} and {@link #aux} from their {@code gradAct}, adds the
     * gradients of the architecture's own parameters and returns the sparsity loss (per row).
     */
    protected abstract double activationGradients(int rows);

    /** A coefficient {@code c} such that {@code W_dec[f]}'s gradient gains {@code c·W_dec[f]} (standard's L1 term). */
    protected float decoderRowGradient(int f, double sumAct) { return 0f; }
}
