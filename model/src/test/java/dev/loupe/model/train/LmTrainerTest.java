package dev.loupe.model.train;

import dev.loupe.model.GemmaModel;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.weights.HfCheckpoint;
import dev.loupe.model.weights.HfCheckpointWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train-lm's trainer on the tiny shape and a corpus with learnable structure: the loss falls well below the
 * unigram baseline, and the full-vocabulary checkpoint it writes scores the held-out tokens exactly as the restricted
 * softmax did in training (a standard softmax over all 384 ids, computed here independently of the trainer).
 */
class LmTrainerTest {
    @TempDir Path dir;

    /** Documents cycling through a few short "phrases" of ids 10..49 in random order: the next token is mostly determined. */
    static List<int[]> corpus(int docs, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] phrases = new int[8][];
        for (int p = 0; p < phrases.length; p++) {
            phrases[p] = new int[4];
            for (int i = 0; i < 4; i++) phrases[p][i] = 10 + p * 5 + i;
        }
        List<int[]> out = new ArrayList<>();
        for (int d = 0; d < docs; d++) {
            int[] ids = new int[1 + 40];
            ids[0] = 2;
            int at = 1;
            while (at < ids.length) {
                int[] ph = phrases[r.nextInt(phrases.length)];
                for (int i = 0; i < ph.length && at < ids.length; i++) ids[at++] = ph[i];
            }
            out.add(ids);
        }
        return out;
    }

    @Test void lossFallsBelowUnigramAndTheWrittenCheckpointComputesTheSameDistribution() throws Exception {
        ModelConfig tiny = ModelConfig.shape("tiny");
        LmTrainOptions o = LmTrainOptions.defaults(8_000).withSeqLen(21).withBatch(4).withLearningRate(1e-2f).withHeldOut(0.1).withEpochs(3);
        List<int[]> docs = corpus(120, 7);
        // A held-out document with ids training never saw: the checkpoint gives them the shared class's row.
        docs.add(new int[]{2, 10, 11, 300, 12, 13, 301, 30, 31, 32, 33});
        LmTrainer t = new LmTrainer(tiny, docs, o);
        List<Double> losses = new ArrayList<>();
        LmTrainer.Result r = t.train(s -> losses.add(s.loss()));
        double first = losses.getFirst(), last = losses.subList(losses.size() - 10, losses.size()).stream().mapToDouble(x -> x).average().orElseThrow();
        // ln(384) = 5.95 at init; the phrases leave about ln(8)/4 = 0.52 nats a token of real uncertainty.
        assertTrue(first > 5.0, "initial loss " + first);
        assertTrue(last < 1.5, "final loss " + last + " (first " + first + ")");
        assertTrue(r.heldOutLoss() < r.unigramHeldOutLoss() - 1.5, r.toString());
        assertEquals(34, t.vocab().size(), "<bos>, <eos> and the 32 phrase ids");

        Path out = dir.resolve("lm");
        java.nio.file.Files.createDirectories(out);
        HfCheckpointWriter.writeWeights(out, t.tensors(), HfCheckpointWriter.MAX_SHARD_BYTES, 1);
        HfCheckpointWriter.writeConfig(out.resolve(HfCheckpoint.CONFIG), tiny, DType.F32);
        List<int[]> held = t.data().heldOut();
        t.close();
        try (GemmaModel m = GemmaModel.load(out, 1)) {
            assertEquals(384, m.config().vocabSize());
            double nll = 0;
            long n = 0;
            for (int[] w : held) {
                RunResult run = m.run(w, RunOptions.defaults());
                for (int p = 0; p + 1 < w.length; p++) {
                    nll -= run.logProbsAt(p)[w[p + 1]];
                    n++;
                }
            }
            assertEquals(r.heldOutTokens(), n);
            assertEquals(r.heldOutLoss(), nll / n, 2e-3, "the written 384-id model scores held-out tokens as training's restricted softmax did");
        }
    }

    @Test void aCorpusTooSmallForTokensIsRefused() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new LmTrainer(ModelConfig.shape("tiny"), corpus(10, 1), LmTrainOptions.defaults(100_000)));
        assertTrue(e.getMessage().startsWith("tokens: the corpus holds "), e.getMessage());
    }
}
