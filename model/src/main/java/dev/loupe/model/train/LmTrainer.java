package dev.loupe.model.train;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.GemmaModel;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.GradientResult;
import dev.loupe.model.grad.Metric;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.LayerWeights;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.SafetensorsWriter;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains a Gemma 2 of a given shape from scratch on tokenized documents: next-token cross-entropy through
 * {@link dev.loupe.model.forward.BackwardPass}, AdamW, warm-up then cosine decay. The softmax runs over the ids the
 * training windows hold plus one shared class for all others ({@link RestrictedVocab}), which keeps a tiny model's
 * cost off the 256k-row unembedding while {@link #tensors} still writes a full-vocabulary checkpoint computing the
 * same distribution.
 *
 * <p>Parameters live in float arrays (AdamW updates them); the backend reads native copies refreshed after each step.
 */
public final class LmTrainer {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float INIT_STD = 0.02f, BETA1 = 0.9f, BETA2 = 0.95f, EPS = 1e-8f, FINAL_LR_SHARE = 0.1f;

    /** One optimiser step's figures. */
    public record Step(int step, int steps, long tokens, double loss, double learningRate, double seconds) {}

    /** Training's outcome: the held-out loss and the unigram baseline's on the same tokens (nats per token). */
    public record Result(int steps, long tokens, double finalLoss, double heldOutLoss, double unigramHeldOutLoss, long heldOutTokens,
                         int vocabUsed, double seconds) {}

    /** Receives each step as it ends. */
    public interface Progress { void onStep(Step step); }

    /** The training and held-out windows cut from the documents. */
    public record Data(List<int[]> train, List<int[]> heldOut, long trainTokens) {}

    private final ModelConfig shape;
    private final LmTrainOptions options;
    private final RestrictedVocab vocab;
    private final ModelConfig local;
    private final Arena arena = Arena.ofShared();
    /** Parameters by checkpoint name, with their AdamW state and whether weight decay applies. */
    private final Map<String, Param> params = new LinkedHashMap<>();
    private final GemmaModel model;
    private final Data data;

    private static final class Param {
        final float[] value, m, v, grad;
        final MemorySegment segment;  // null for norms: the backend reads the float array itself
        final boolean decay;
        final boolean norm;

        Param(float[] value, MemorySegment segment, boolean decay, boolean norm) {
            this.value = value;
            this.segment = segment;
            this.decay = decay;
            this.norm = norm;
            m = new float[value.length];
            v = new float[value.length];
            grad = new float[value.length];
        }
    }

    /**
     * @param shape the model shape with the full vocabulary (the tokenizer's size, {@code <bos>} and {@code <eos>} ids)
     * @param docs  documents as token ids, {@code <bos>} first
     */
    public LmTrainer(ModelConfig shape, List<int[]> docs, LmTrainOptions options) {
        this.shape = shape;
        this.options = options;
        this.data = windows(docs, options, shape.bosId());
        if (data.trainTokens() * options.epochs() < options.tokens()) {
            throw BadInputException.of("tokens", "the corpus holds " + data.trainTokens() + " training tokens (" + data.train().size()
                    + " windows of at most " + options.seqLen() + ", held-out documents excluded), fewer than " + options.tokens()
                    + (options.epochs() > 1 ? " in " + options.epochs() + " epochs" : ""));
        }
        BitSet ids = new BitSet(shape.vocabSize());
        for (int[] w : data.train()) for (int t : w) ids.set(t);
        ids.set(shape.bosId());
        shape.eosIds().forEach(ids::set);
        this.vocab = RestrictedVocab.of(shape.vocabSize(), ids);
        this.local = new ModelConfig(shape.architecture(), vocab.size() + 1, shape.hiddenSize(), shape.intermediateSize(), shape.numLayers(),
                shape.numHeads(), shape.numKvHeads(), shape.headDim(), shape.queryPreAttnScalar(), shape.rmsNormEps(), shape.layerTypes(),
                shape.slidingWindow(), shape.slidingRope(), shape.fullRope(), shape.attnSoftcap(), shape.finalSoftcap(), shape.embeddingScale(),
                shape.maxPositions(), vocab.local(shape.bosId()), shape.eosIds().stream().map(vocab::local).toList());
        this.model = new GemmaModel(initialWeights(), null, Backends.byName(Backends.CPU, options.threads()));
    }

    public RestrictedVocab vocab() { return vocab; }

    public Data data() { return data; }

    /**
     * Cuts each document into windows of {@code <bos>} plus up to {@code seqLen − 1} tokens; the last share
     * ({@link LmTrainOptions#heldOut}) of the documents becomes held-out windows, the rest is shuffled with the seed.
     */
    static Data windows(List<int[]> docs, LmTrainOptions o, int bos) {
        int heldDocs = docs.size() < 2 ? 0 : Math.max(1, (int) Math.round(docs.size() * o.heldOut()));
        List<int[]> train = new ArrayList<>(), held = new ArrayList<>();
        long trainTokens = 0, heldTokens = 0;
        for (int d = 0; d < docs.size(); d++) {
            boolean isHeld = d >= docs.size() - heldDocs;
            int[] ids = docs.get(d);
            int from = ids.length > 0 && ids[0] == bos ? 1 : 0, body = o.seqLen() - 1;
            for (; from < ids.length; from += body) {
                int n = Math.min(body, ids.length - from);
                if (n < 1) break;
                int[] w = new int[n + 1];
                w[0] = bos;
                System.arraycopy(ids, from, w, 1, n);
                if (isHeld) {
                    if (heldTokens >= o.heldOutTokens()) break;
                    held.add(w);
                    heldTokens += w.length;
                } else {
                    train.add(w);
                    trainTokens += w.length;
                }
            }
        }
        SplittableRandom r = new SplittableRandom(o.seed() ^ 0x5DEECE66DL);
        for (int i = train.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int[] t = train.get(i);
            train.set(i, train.get(j));
            train.set(j, t);
        }
        // Within one pass, only the windows the run consumes (the vocabulary is theirs).
        List<int[]> used = new ArrayList<>();
        long have = 0;
        for (int[] w : train) {
            if (have >= o.tokens()) break;
            used.add(w);
            have += w.length;
        }
        return new Data(used, held, have);
    }

    private ModelWeights initialWeights() {
        SplittableRandom rnd = new SplittableRandom(o().seed());
        Architecture arch = local.architecture();
        WeightTensor embedding = matrix(TensorName.HF_TEXT_PREFIX + Architecture.HF_EMBEDDING, new long[]{local.vocabSize(), local.hiddenSize()}, rnd, true);
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < local.numLayers(); l++) {
            Map<LayerTensor, WeightTensor> matrices = new EnumMap<>(LayerTensor.class);
            Map<LayerTensor, float[]> norms = new EnumMap<>(LayerTensor.class);
            for (TensorName t : arch.layerTensors()) {
                long[] s = t.role().shape(local);
                if (t.role().isMatrix()) matrices.put(t.role(), matrix(t.hfAt(l), s, rnd, true));
                else norms.put(t.role(), norm(t.hfAt(l), (int) s[0]));
            }
            layers.add(new LayerWeights(matrices, norms));
        }
        float[] finalNorm = norm(TensorName.HF_TEXT_PREFIX + Architecture.HF_FINAL_NORM, local.hiddenSize());
        return new ModelWeights(local, embedding, layers, finalNorm, null);
    }

    private LmTrainOptions o() { return options; }

    private WeightTensor matrix(String name, long[] shape, SplittableRandom rnd, boolean decay) {
        float[] values = new float[Math.toIntExact(shape[0] * shape[1])];
        for (int i = 0; i < values.length; i++) values[i] = (float) (gaussian(rnd) * INIT_STD);
        MemorySegment seg = arena.allocate(4L * values.length, 64);
        MemorySegment.copy(values, 0, seg, F32, 0, values.length);
        params.put(name, new Param(values, seg, decay, false));
        return new WeightTensor(name, DType.F32, shape, seg, null);
    }

    /** Norm multipliers {@code 1 + w} start at 1 (w = 0, as Gemma initialises them). */
    private float[] norm(String name, int width) {
        float[] values = new float[width];
        java.util.Arrays.fill(values, 1f);
        params.put(name, new Param(values, null, false, true));
        return values;
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = 1 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Trains, then scores the held-out windows. */
    public Result train(Progress progress) {
        long start = System.nanoTime();
        List<int[]> windows = new ArrayList<>(data.train());
        long perStep = Math.max(1, data.trainTokens() / Math.max(1, windows.size())) * options.batch();
        int steps = (int) Math.max(1, (options.tokens() + perStep - 1) / perStep);
        SplittableRandom shuffle = new SplittableRandom(options.seed() + 1);
        int warmup = Math.max(1, Math.round(steps * options.warmupFraction()));
        double offset = vocab.absentLogOffset();
        long tokens = 0;
        double loss = Double.NaN;
        int next = 0;
        for (int step = 1; step <= steps; step++) {
            double sum = 0;
            int inBatch = 0;
            for (; inBatch < options.batch(); inBatch++) {
                if (next == windows.size()) {
                    // Another pass, in a new order.
                    for (int i = windows.size() - 1; i > 0; i--) java.util.Collections.swap(windows, i, shuffle.nextInt(i + 1));
                    next = 0;
                }
                int[] w = vocab.local(windows.get(next++));
                GradientResult r = model.gradients(w, GradientRequest.of(lossMetric(w, offset)).withParameters(true));
                sum += r.value();
                tokens += w.length;
                for (GradientResult.ParameterGradient g : r.parameters().values()) {
                    float[] acc = params.get(g.name()).grad, d = g.data();
                    for (int i = 0; i < d.length; i++) acc[i] += d[i];
                }
            }
            double lr = learningRate(step, steps, warmup);
            adamW(step, (float) lr, 1f / inBatch);
            loss = sum / inBatch;
            if (!Double.isFinite(loss)) throw new BadInputException("the training loss became " + loss + " at step " + step + ": lower the learning rate");
            progress.onStep(new Step(step, steps, tokens, loss, lr, (System.nanoTime() - start) / 1e9));
        }
        double[] held = heldOut();
        return new Result(steps, tokens, loss, held[0], held[1], (long) held[2], vocab.size(), (System.nanoTime() - start) / 1e9);
    }

    /** Linear warm-up to the peak, then cosine decay to {@link #FINAL_LR_SHARE} of it. */
    private double learningRate(int step, int steps, int warmup) {
        double peak = options.learningRate();
        if (step <= warmup) return peak * step / warmup;
        double progress = (double) (step - warmup) / Math.max(1, steps - warmup);
        return peak * (FINAL_LR_SHARE + (1 - FINAL_LR_SHARE) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    /**
     * Mean next-token cross-entropy over the window, the absent class's logit raised by {@code offset} (it stands
     * for that many ids with the same logit).
     */
    static Metric lossMetric(int[] w, double offset) {
        int rows = w.length - 1;
        return Metric.of("loss", 0, rows, (l, g) -> {
            int v = l.vocab(), absent = v - 1;
            float[] x = l.data();
            double total = 0;
            double[] p = new double[v];
            for (int r = 0; r < rows; r++) {
                int off = r * v;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < v; i++) max = Math.max(max, x[off + i] + (i == absent ? offset : 0));
                double s = 0;
                for (int i = 0; i < v; i++) s += (p[i] = Math.exp(x[off + i] + (i == absent ? offset : 0) - max));
                int target = w[r + 1];
                total -= x[off + target] + (target == absent ? offset : 0) - max - Math.log(s);
                for (int i = 0; i < v; i++) g[off + i] = (float) (p[i] / s / rows);
                g[off + target] -= 1f / rows;
            }
            return total / rows;
        });
    }

    private void adamW(int step, float lr, float gradScale) {
        float bc1 = 1 - (float) Math.pow(BETA1, step), bc2 = 1 - (float) Math.pow(BETA2, step);
        float stepSize = lr / bc1;
        float decay = 1 - lr * options.weightDecay();
        for (Param p : params.values()) {
            float[] x = p.value, m = p.m, v = p.v, g = p.grad;
            // A norm's parameter is w in the multiplier 1 + w: decay (none here) and updates apply to w alike.
            for (int i = 0; i < x.length; i++) {
                float gi = g[i] * gradScale;
                m[i] = BETA1 * m[i] + (1 - BETA1) * gi;
                v[i] = BETA2 * v[i] + (1 - BETA2) * gi * gi;
                float xi = p.decay ? x[i] * decay : x[i];
                x[i] = xi - stepSize * m[i] / ((float) Math.sqrt(v[i] / bc2) + EPS);
                g[i] = 0;
            }
            if (p.segment != null) MemorySegment.copy(x, 0, p.segment, F32, 0, x.length);
        }
    }

    /** {held-out loss, unigram baseline's loss, tokens scored}: nats per predicted token of the held-out windows. */
    private double[] heldOut() {
        // Unigram: training targets' counts plus one for each present id and for the absent class, whose mass is shared by the absent ids.
        double[] counts = new double[vocab.size() + 1];
        java.util.Arrays.fill(counts, 1);
        double total = counts.length;
        for (int[] w : data.train()) {
            for (int i = 1; i < w.length; i++) { counts[vocab.local(w[i])]++; total++; }
        }
        double offset = vocab.absentLogOffset();
        double model = 0, unigram = 0;
        long n = 0;
        for (int[] full : data.heldOut()) {
            int[] w = vocab.local(full);
            if (w.length < 2) continue;
            RunResult r = this.model.run(w, RunOptions.defaults());
            for (int pos = 0; pos + 1 < w.length; pos++) {
                float[] x = r.logitsAt(pos);
                int v = x.length, absent = v - 1, target = w[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < v; i++) max = Math.max(max, x[i] + (i == absent ? offset : 0));
                double s = 0;
                for (int i = 0; i < v; i++) s += Math.exp(x[i] + (i == absent ? offset : 0) - max);
                // An absent id's own logit is the absent class's, without the offset.
                model -= x[target] - max - Math.log(s);
                double pu = counts[target] / total;
                unigram -= target == absent ? Math.log(pu) - offset : Math.log(pu);
                n++;
            }
        }
        return n == 0 ? new double[]{Double.NaN, Double.NaN, 0} : new double[]{model / n, unigram / n, n};
    }

    /**
     * The trained model as full-vocabulary F32 tensors in Hugging Face names and transformers' order: every absent
     * id's embedding row is the absent class's row; norms are stored as w (the loader adds 1).
     */
    public List<SafetensorsWriter.Tensor> tensors() {
        List<SafetensorsWriter.Tensor> out = new ArrayList<>();
        int d = shape.hiddenSize(), full = shape.vocabSize();
        String embName = TensorName.HF_TEXT_PREFIX + Architecture.HF_EMBEDDING;
        float[] local = params.get(embName).value;
        float[] emb = new float[Math.toIntExact((long) full * d)];
        for (int id = 0; id < full; id++) System.arraycopy(local, vocab.local(id) * d, emb, id * d, d);
        out.add(SafetensorsWriter.Tensor.ofFloats(embName, DType.F32, new long[]{full, d}, emb));
        for (int l = 0; l < shape.numLayers(); l++) {
            for (boolean matrices : new boolean[]{true, false}) {
                for (TensorName t : shape.architecture().layerTensors()) {
                    if (t.role().isMatrix() != matrices) continue;
                    out.add(tensor(t.hfAt(l), t.role().shape(shape)));
                }
            }
        }
        out.add(tensor(TensorName.HF_TEXT_PREFIX + Architecture.HF_FINAL_NORM, new long[]{d}));
        return out;
    }

    private SafetensorsWriter.Tensor tensor(String name, long[] shape) {
        Param p = params.get(name);
        float[] values = p.value.clone();
        if (p.norm) for (int i = 0; i < values.length; i++) values[i] -= 1f;
        return SafetensorsWriter.Tensor.ofFloats(name, DType.F32, shape, values);
    }

    /** The full-vocabulary config the written checkpoint carries. */
    public ModelConfig config() { return shape; }

    public void close() {
        model.close();
        arena.close();
    }
}
