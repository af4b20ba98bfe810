package dev.loupe.model.train;

import dev.loupe.errors.BadInputException;






/**
 * How {@link LmTrainer} trains: AdamW with a linear warm-up then a cosine decay to a tenth of the peak rate.
 *
 * @param tokens         training tokens (window positions, {@code <bos>} included) to consume; at most {@code epochs} passes over the corpus
 * @param epochs         most passes over the training windows (reshuffled each pass)
 * @param seqLen         tokens per window, {@code <bos>} first
 * @param batch          windows per optimiser step
 * @param learningRate   peak learning rate
 * @param warmupFraction share of the steps spent warming up linearly from 0
 * @param weightDecay    AdamW's decoupled decay, applied to matrices and the embedding (not to norms)
 * @param heldOut        share of the documents (the last ones) kept out of training for the held-out loss
 * @param heldOutTokens  at most this many held-out tokens are scored
 * @param seed           initialisation and shuffling seed
 * @param threads        backend threads
 */
public record LmTrainOptions(long tokens, int epochs, int seqLen, int batch, float learningRate, float warmupFraction, float weightDecay,
                             double heldOut, int heldOutTokens, long seed, int threads) {
    public LmTrainOptions {
        if (tokens < 1) throw BadInputException.of("tokens", "must be at least 1, got " + tokens);
        if (epochs < 1) throw BadInputException.of("epochs", "must be at least 1, got " + epochs);
        if (seqLen < 2) throw BadInputException.of("seqLen", "must be at least 2, got " + seqLen);
        if (batch < 1) throw BadInputException.of("batch", "must be at least 1, got " + batch);
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) throw BadInputException.of("learningRate", "must be positive, got " + learningRate);
        if (!(warmupFraction >= 0 && warmupFraction < 1)) throw BadInputException.of("warmupFraction", "expected [0, 1), got " + warmupFraction);
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay)) throw BadInputException.of("weightDecay", "must be ≥ 0, got " + weightDecay);
        if (!(heldOut > 0 && heldOut < 1)) throw BadInputException.of("heldOut", "expected a share in (0, 1), got " + heldOut);
        if (threads < 1) throw BadInputException.of("threads", "must be at least 1, got " + threads);
    }

    public static LmTrainOptions defaults(long tokens) {
        return new LmTrainOptions(tokens, 1, 64, 8, 3e-3f, 0.05f, 0.01f, 0.05, 8192, 0, 2);
    }

    public LmTrainOptions withEpochs(int n) { return new LmTrainOptions(tokens, n, seqLen, batch, learningRate, warmupFraction, weightDecay, heldOut, heldOutTokens, seed, threads); }
    public LmTrainOptions withSeqLen(int n) { return new LmTrainOptions(tokens, epochs, n, batch, learningRate, warmupFraction, weightDecay, heldOut, heldOutTokens, seed, threads); }
    public LmTrainOptions withBatch(int n) { return new LmTrainOptions(tokens, epochs, seqLen, n, learningRate, warmupFraction, weightDecay, heldOut, heldOutTokens, seed, threads); }
    public LmTrainOptions withLearningRate(float lr) { return new LmTrainOptions(tokens, epochs, seqLen, batch, lr, warmupFraction, weightDecay, heldOut, heldOutTokens, seed, threads); }
    public LmTrainOptions withHeldOut(double share) { return new LmTrainOptions(tokens, epochs, seqLen, batch, learningRate, warmupFraction, weightDecay, share, heldOutTokens, seed, threads); }
    public LmTrainOptions withSeed(long s) { return new LmTrainOptions(tokens, epochs, seqLen, batch, learningRate, warmupFraction, weightDecay, heldOut, heldOutTokens, s, threads); }
    public LmTrainOptions withThreads(int n) { return new LmTrainOptions(tokens, epochs, seqLen, batch, learningRate, warmupFraction, weightDecay, heldOut, heldOutTokens, seed, n); }
}
