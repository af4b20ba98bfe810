package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;






/**
 * A training run's settings.
 *
 * @param sparsity        architecture and sparsity target
 * @param width           number of features
 * @param tokens          activations to train on
 * @param batchSize       rows per optimizer step (SAELens's {@code train_batch_size_tokens})
 * @param learningRate    Adam's peak learning rate
 * @param warmupSteps     linear warm-up of the learning rate (and of standard's L1 coefficient)
 * @param decayFraction   the last fraction of steps over which the learning rate falls linearly to 0
 * @param bufferRows      rows in the mixing buffer (batches are drawn at random from it)
 * @param deadAfterTokens a feature that has not fired for this many tokens counts as dead
 * @param auxWeight       TopK/BatchTopK's AuxK coefficient
 * @param seed            initialisation and shuffling seed
 */
public record TrainOptions(Sparsity sparsity, int width, long tokens, int batchSize, float learningRate, int warmupSteps,
                           float decayFraction, int bufferRows, long deadAfterTokens, float auxWeight, long seed) {
    public TrainOptions {
        if (width < 1) throw new BadInputException("width must be at least 1, got " + width);
        if (tokens < 1) throw new BadInputException("tokens must be at least 1, got " + tokens);
        if (batchSize < 1) throw new BadInputException("batch size must be at least 1, got " + batchSize);
        if (!(learningRate > 0)) throw new BadInputException("learning rate must be positive, got " + learningRate);
        if (warmupSteps < 0) throw new BadInputException("warm-up steps must not be negative, got " + warmupSteps);
        if (!(decayFraction >= 0 && decayFraction <= 1)) throw new BadInputException("decay fraction must be in [0, 1], got " + decayFraction);
        if (bufferRows < batchSize) throw new BadInputException("the mixing buffer (" + bufferRows + " rows) must hold at least one batch (" + batchSize + ")");
        if (deadAfterTokens < 1) throw new BadInputException("dead-feature window must be at least 1 token, got " + deadAfterTokens);
        switch (sparsity) {
            case Sparsity.JumpRelu j -> {
                if (j.targetL0() >= width) throw new BadInputException("target L0 " + j.targetL0() + " cannot be reached with " + width + " features (it must be below the width)");
            }
            case Sparsity.TopK t -> {
                if (t.k() > width) throw new BadInputException("k = " + t.k() + " exceeds the width " + width);
            }
            case Sparsity.BatchTopK t -> {
                if (t.k() > width) throw new BadInputException("k = " + t.k() + " exceeds the width " + width);
            }
            case Sparsity.Standard s -> { }
        }
    }

    /**
     * Defaults in SAELens's spirit for a run of {@code tokens}: batch 4096 (fewer for short runs), learning rate 3e-4,
     * warm-up over the first 5% of steps (at most 1000), decay over the last 20%, a buffer of 16 batches (at most a
     * quarter of the run, at least one batch), dead after
     * a tenth of the run (at most 10M tokens), AuxK weight 1/32.
     */
    public static TrainOptions defaults(Sparsity sparsity, int width, long tokens) {
        int batch = (int) Math.max(64, Math.min(4096, tokens / 200));
        long steps = Math.max(1, tokens / batch);
        return new TrainOptions(sparsity, width, tokens, batch, 3e-4f, (int) Math.min(1000, steps / 20), 0.2f, (int) Math.max(batch, Math.min(16L * batch, tokens / 4)),
                Math.max(batch, Math.min(10_000_000L, tokens / 10)), 1f / 32, 0);
    }

    public TrainOptions withBatchSize(int b) {
        return new TrainOptions(sparsity, width, tokens, b, learningRate, warmupSteps, decayFraction, Math.max(bufferRows, b), deadAfterTokens, auxWeight, seed);
    }

    public TrainOptions withLearningRate(float lr) {
        return new TrainOptions(sparsity, width, tokens, batchSize, lr, warmupSteps, decayFraction, bufferRows, deadAfterTokens, auxWeight, seed);
    }

    public TrainOptions withSeed(long s) {
        return new TrainOptions(sparsity, width, tokens, batchSize, learningRate, warmupSteps, decayFraction, bufferRows, deadAfterTokens, auxWeight, s);
    }

    public long totalSteps() { return (tokens + batchSize - 1) / batchSize; }

    /** The learning rate at {@code step} (0-based): linear warm-up, constant, linear decay to 0. */
    public float learningRateAt(long step) {
        long total = totalSteps();
        float lr = learningRate;
        if (step < warmupSteps) lr *= (step + 1f) / (warmupSteps + 1f);
        long decaySteps = (long) (decayFraction * total);
        long decayStart = total - decaySteps;
        if (decaySteps > 0 && step >= decayStart) lr *= Math.max(0f, (float) (total - step) / decaySteps);
        return lr;
    }
}
