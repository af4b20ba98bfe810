package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.sae.fit.HeapTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Trains an SAE on a stream of activations: a shuffled mixing buffer, Adam with warm-up and decay, decoder rows
 * at unit norm where the architecture asks, dead-feature tracking, and checkpoints from which a killed run resumes.
 *
 * <p>Activations are scaled so that their mean norm is {@code sqrt(d_in)} (SAELens's
 * {@code expected_average_only_in}, estimated on the first batch); the scale is folded into the weights on export.
 */
public final class SaeTrainer {
    static final float BETA1 = 0.9f, BETA2 = 0.999f, EPS = 1e-8f;
    /** How fast JumpReLU's L0 coefficient follows the target: at most ×e^0.02 per step. */
    private static final double L0_RATE = 0.02;

    /** What a step reports to a listener. */
    public record Progress(long step, long totalSteps, long tokens, TrainingSae.StepStats stats, float learningRate,
                           float sparsityCoefficient, int deadFeatures) {}

    @FunctionalInterface
    public interface Listener {
        void onStep(Progress p) throws IOException;
    }

    /** Where and how often checkpoints are written (null file: never). */
    public record Checkpointing(Path file, long everyTokens) {}

    private final TrainOptions options;
    private final ActivationSource source;
    private final Backend backend;
    private final Checkpointing checkpointing;
    private final MixingBuffer buffer;
    private TrainingSae sae;
    private SaeParameters m, v;
    private final TrainState state;
    private double[] tokensSinceFired;
    private long[] fireCounts;

    /** Mutable counters of a run (all of them go into checkpoints). */
    static final class TrainState {
        long step, tokens, countedTokens, sourcePosition, randomState;
        float scale = 1f, sparsityCoefficient, runningThreshold;
    }

    public SaeTrainer(TrainOptions options, ActivationSource source, Backend backend, Checkpointing checkpointing) {
        this.options = options;
        this.source = source;
        this.backend = backend;
        this.checkpointing = checkpointing;
        this.buffer = new MixingBuffer(source, options.bufferRows(), options.seed() ^ 0x5DEECE66DL);
        this.state = new TrainState();
    }

    /** The result of a run. {@code firingFrequency} counts the second half of training. */
    public record Result(TrainingSae sae, float scale, long tokens, long steps, float[] firingFrequency,
                         TrainingSae.StepStats lastStats, boolean resumed) {}

    /** Runs to {@link TrainOptions#tokens()} (or the end of the source), resuming from the checkpoint if one exists. */
    public Result run(Listener listener) throws IOException {
        int d = source.width();
        boolean resumed = checkpointing != null && checkpointing.file() != null && Files.isRegularFile(checkpointing.file());
        float[] batch = new float[options.batchSize() * d];
        int firstRows = 0;
        if (resumed) {
            restore(checkpointing.file(), d);
            source.seek(state.sourcePosition);
            buffer.restoreRandomState(state.randomState);
        } else {
            firstRows = buffer.next(batch, options.batchSize());
            if (firstRows == 0) throw new BadInputException("the activation source is empty");
            initialise(batch, firstRows, d);
        }
        long lastCheckpoint = state.tokens;
        long total = options.totalSteps();
        TrainingSae.StepStats last = null;
        boolean[] dead = new boolean[options.width()];
        while (state.tokens < options.tokens()) {
            int want = (int) Math.min(options.batchSize(), options.tokens() - state.tokens);
            int rows;
            if (firstRows > 0) {
                rows = Math.min(firstRows, want);
                firstRows = 0;
            } else {
                rows = buffer.next(batch, want);
            }
            if (rows == 0) break;
            float s = state.scale;
            for (int i = 0, n = rows * d; i < n; i++) batch[i] *= s;
            for (int f = 0; f < dead.length; f++) dead[f] = tokensSinceFired[f] >= options.deadAfterTokens();
            sae.setDead(dead);
            sae.setSparsityCoefficient(sparsityCoefficientAt(state.step));
            TrainingSae.StepStats stats = sae.step(batch, rows);
            if (!Double.isFinite(stats.loss())) {
                throw BadInputException.of("learningRate", "training diverged at step " + state.step + " (loss " + stats.loss() + "); lower it");
            }
            float lr = options.learningRateAt(state.step);
            update(lr);
            track(rows, stats);
            state.step++;
            state.tokens += rows;
            int deadNow = 0;
            for (double t : tokensSinceFired) if (t >= options.deadAfterTokens()) deadNow++;
            last = stats;
            if (listener != null) {
                listener.onStep(new Progress(state.step, total, state.tokens, stats, lr, sae.sparsityCoefficient, deadNow));
            }
            if (checkpointing != null && checkpointing.file() != null && state.tokens - lastCheckpoint >= checkpointing.everyTokens()
                    && state.tokens < options.tokens()) {
                save(checkpointing.file());
                lastCheckpoint = state.tokens;
            }
        }
        float[] freq = new float[options.width()];
        if (state.countedTokens > 0) for (int f = 0; f < freq.length; f++) freq[f] = (float) fireCounts[f] / state.countedTokens;
        return new Result(sae, state.scale, state.tokens, state.step, freq, last, resumed);
    }

    private float sparsityCoefficientAt(long step) {
        if (options.sparsity() instanceof Sparsity.Standard std) {
            long warm = Math.max(1, options.totalSteps() / 20);
            return std.l1() * Math.min(1f, (step + 1f) / warm);
        }
        return state.sparsityCoefficient;
    }

    // ---- initialisation ----------------------------------------------------------------------------------

    private void initialise(float[] batch, int rows, int d) {
        double norms = 0;
        for (int r = 0; r < rows; r++) norms += Math.sqrt(TrainKernels.dot(batch, r * d, batch, r * d, d));
        double meanNorm = norms / rows;
        if (!(meanNorm > 0)) throw new BadInputException("the first batch of activations is all zeros");
        state.scale = (float) (Math.sqrt(d) / meanNorm);
        int width = options.width();
        boolean jump = options.sparsity() instanceof Sparsity.JumpRelu;
        SaeParameters p = SaeParameters.zeros(d, width, jump);
        Random random = new Random(options.seed());
        float decoderNorm = options.sparsity() instanceof Sparsity.Standard ? 0.1f : 1f;
        float[] dec = p.decoder();
        for (int f = 0; f < width; f++) {
            double sq = 0;
            for (int i = 0; i < d; i++) {
                float g = (float) random.nextGaussian();
                dec[f * d + i] = g;
                sq += (double) g * g;
            }
            float k = (float) (decoderNorm / Math.sqrt(sq));
            for (int i = 0; i < d; i++) dec[f * d + i] *= k;
        }
        System.arraycopy(dec, 0, p.encoder(), 0, dec.length);
        // b_dec starts at the (scaled) mean activation, so the encoder first sees centred inputs.
        float[] bDec = p.bDec();
        for (int r = 0; r < rows; r++) TrainKernels.axpy(state.scale / rows, batch, r * d, bDec, 0, d);
        if (options.sparsity() instanceof Sparsity.JumpRelu j) {
            float t = initialThreshold(p, batch, rows, d, j.targetL0());
            Arrays.fill(p.logThreshold(), (float) Math.log(t));
            state.sparsityCoefficient = 1f;
        }
        sae = build(p);
        m = p.zerosLike();
        v = p.zerosLike();
        tokensSinceFired = new double[width];
        fireCounts = new long[width];
    }

    /**
     * One threshold for every feature such that the initial SAE fires {@code targetL0} features per row on the
     * first batch: with {@code W_enc = W_dec^T} most pre-activations start positive, and SAELens's tiny initial
     * threshold would make the first steps dense.
     */
    private float initialThreshold(SaeParameters p, float[] batch, int rows, int d, double targetL0) {
        int n = Math.min(rows, 256), width = p.width();
        float[] x = new float[n * d];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < d; i++) x[r * d + i] = batch[r * d + i] * state.scale - p.bDec()[i];
        }
        float[] pre = new float[n * width];
        WeightTensor enc = HeapTensor.of("W_enc^T", p.encoder(), width, d);
        backend.matmul(enc, x, 0, n, pre, 0);
        Arrays.sort(pre);
        int rank = (int) Math.min(pre.length - 1, Math.round(targetL0 * n));
        return Math.max(1e-3f, pre[pre.length - 1 - rank]);
    }

    private TrainingSae build(SaeParameters p) {
        int kAux = Math.max(1, p.dIn() / 2);
        return switch (options.sparsity()) {
            case Sparsity.JumpRelu j -> new JumpReluTrainingSae(p, backend, j.bandwidth());
            case Sparsity.TopK t -> new TopKTrainingSae(p, backend, t.k(), kAux, options.auxWeight());
            case Sparsity.BatchTopK t -> new BatchTopKTrainingSae(p, backend, t.k(), kAux, options.auxWeight());
            case Sparsity.Standard s -> new StandardTrainingSae(p, backend);
        };
    }

    // ---- one update -------------------------------------------------------------------------------------

    private void update(float lr) {
        SaeParameters p = sae.parameters(), g = sae.gradients();
        int d = p.dIn(), width = p.width();
        if (sae.unitNormDecoder()) {
            // Only the part of each row's gradient that keeps its norm counts (SAELens removes the parallel part).
            float[] dec = p.decoder(), gDec = g.decoder();
            backend.parallelFor(width, f -> {
                float along = TrainKernels.dot(gDec, f * d, dec, f * d, d);
                TrainKernels.axpy(-along, dec, f * d, gDec, f * d, d);
            });
        }
        long t = state.step + 1;
        double c1 = 1 - Math.pow(BETA1, t), c2 = 1 - Math.pow(BETA2, t);
        float stepSize = (float) (lr * Math.sqrt(c2) / c1);
        float epsHat = (float) (EPS * Math.sqrt(c2));
        List<SaeParameters.Named> ps = p.named(), gs = g.named(), ms = m.named(), vs = v.named();
        for (int i = 0; i < ps.size(); i++) {
            float[] pa = ps.get(i).values(), ga = gs.get(i).values(), ma = ms.get(i).values(), va = vs.get(i).values();
            int n = pa.length, blocks = Math.max(1, Math.min(64, n / 4096));
            backend.parallelFor(blocks, b -> TrainKernels.adam(pa, ga, ma, va, (int) ((long) n * b / blocks),
                    (int) ((long) n * (b + 1) / blocks), BETA1, BETA2, stepSize, epsHat));
        }
        if (sae.unitNormDecoder()) {
            float[] dec = p.decoder();
            backend.parallelFor(width, f -> {
                float norm = (float) Math.sqrt(TrainKernels.dot(dec, f * d, dec, f * d, d));
                if (norm > 0) for (int i = 0; i < d; i++) dec[f * d + i] /= norm;
            });
        }
    }

    private void track(int rows, TrainingSae.StepStats stats) {
        long[] fired = sae.takeFired();
        boolean counting = state.step >= options.totalSteps() / 2;
        for (int f = 0; f < fired.length; f++) {
            tokensSinceFired[f] = fired[f] > 0 ? 0 : tokensSinceFired[f] + rows;
            if (counting) fireCounts[f] += fired[f];
        }
        if (counting) state.countedTokens += rows;
        if (options.sparsity() instanceof Sparsity.JumpRelu j) {
            double err = Math.max(-1, Math.min(1, (stats.l0() - j.targetL0()) / j.targetL0()));
            state.sparsityCoefficient = (float) Math.min(1e6, Math.max(1e-6, state.sparsityCoefficient * Math.exp(L0_RATE * err)));
        }
        if (sae instanceof BatchTopKTrainingSae b) state.runningThreshold = b.runningThreshold();
    }

    // ---- checkpoints ------------------------------------------------------------------------------------

    /** The step a checkpoint file was written after. */
    public static long checkpointStep(Path file) throws IOException {
        try (dev.loupe.model.weights.SafetensorsFile st = dev.loupe.model.weights.SafetensorsFile.open(file)) {
            String step = st.metadata() == null ? null : st.metadata().get("step");
            if (step == null) throw new IOException(file + ": not a train-sae checkpoint (no step in its metadata)");
            return Long.parseLong(step);
        }
    }

    private void save(Path file) throws IOException {
        state.sourcePosition = source.position();
        state.randomState = buffer.randomState();
        TrainCheckpoint.write(file, options, state, sae.parameters(), m, v, tokensSinceFired, fireCounts, backend);
    }

    private void restore(Path file, int d) throws IOException {
        TrainCheckpoint.Loaded c = TrainCheckpoint.read(file, options, d);
        state.step = c.state().step;
        state.tokens = c.state().tokens;
        state.countedTokens = c.state().countedTokens;
        state.sourcePosition = c.state().sourcePosition;
        state.randomState = c.state().randomState;
        state.scale = c.state().scale;
        state.sparsityCoefficient = c.state().sparsityCoefficient;
        state.runningThreshold = c.state().runningThreshold;
        sae = build(c.params());
        if (sae instanceof BatchTopKTrainingSae b) b.restoreRunningThreshold(state.runningThreshold);
        m = c.m();
        v = c.v();
        tokensSinceFired = c.tokensSinceFired();
        fireCounts = c.fireCounts();
    }
}
