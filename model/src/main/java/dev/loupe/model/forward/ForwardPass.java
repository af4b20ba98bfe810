package dev.loupe.model.forward;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookPoints;
import dev.loupe.model.Gemma2Config;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.weights.Gemma2Weights;
import dev.loupe.model.weights.LayerWeights;

import static dev.loupe.hooks.BlockHook.*;

/**
 * The Gemma 2 forward pass over a chunk of positions: a whole prompt at once (matrix-matrix work) or
 * one generated token. Keys and values go to a {@link KvCache}; every hook point is offered to the
 * bound hooks, and an {@link Activation} is built only where a hook is attached. Buffers are sized for
 * the chunk and kept between calls of the same size (every generation step), so a step allocates nothing.
 * Not thread-safe: one chunk at a time.
 */
public final class ForwardPass {
    private final Gemma2Config c;
    private final Gemma2Weights w;
    private final Backend be;
    private final HookPoints points;
    private final Rope rope;
    private final Attention attention;

    private int n = -1;
    private float[] x, xn, q, k, v, z, proj, gate, up;

    public ForwardPass(Gemma2Weights weights, Backend backend, HookPoints points) {
        this.c = weights.config();
        this.w = weights;
        this.be = backend;
        this.points = points;
        this.rope = new Rope(c.headDim(), c.ropeTheta());
        this.attention = new Attention(c, backend);
    }

    private void size(int rows) {
        if (rows == n) return;
        n = rows;
        x = new float[n * c.hiddenSize()];
        xn = new float[n * c.hiddenSize()];
        proj = new float[n * c.hiddenSize()];
        q = new float[n * c.qDim()];
        k = new float[n * c.kvDim()];
        v = new float[n * c.kvDim()];
        z = new float[n * c.qDim()];
        gate = new float[n * c.intermediateSize()];
        up = new float[n * c.intermediateSize()];
    }

    /**
     * Processes {@code tokens} at positions {@code cache.length() ...}, appending to the cache.
     *
     * @param stopAfterLayer last block to run (numLayers-1 for all); when it stops early no logits are made
     * @param logitRows      logits are computed for the last {@code logitRows} positions of the chunk (0: none)
     * @return logits {@code [logitRows, vocab]} after the final softcap, or null
     */
    public float[] forward(KvCache cache, int[] tokens, BoundHooks hooks, int stopAfterLayer, int logitRows) {
        int rows = tokens.length;
        if (rows == 0) throw new IllegalArgumentException("no tokens to process");
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        int p0 = cache.length();
        cache.ensure(p0 + rows);
        size(rows);
        int d = c.hiddenSize();

        for (int t = 0; t < rows; t++) {
            w.embedding().readRow(tokens[t], x, t * d);
            VecOps.scale(x, t * d, d, c.embeddingScale());
        }
        fire(hooks, points.embedId(), x, d, p0);

        float[][] cs = rope.tables(p0, rows);
        int last = Math.min(stopAfterLayer, c.numLayers() - 1);
        for (int l = 0; l <= last; l++) {
            layer(l, w.layers().get(l), cache, hooks, p0, cs[0], cs[1]);
        }
        cache.advance(rows);
        if (last < c.numLayers() - 1) return null;

        for (int t = 0; t < rows; t++) VecOps.rmsNorm(x, t * d, w.finalNorm(), c.rmsNormEps(), xn, t * d, d);
        fire(hooks, points.lnFinalId(), xn, d, p0);
        if (logitRows <= 0) return null;
        int lr = Math.min(logitRows, rows);
        float[] logits = new float[lr * c.vocabSize()];
        be.matmul(w.embedding(), xn, (rows - lr) * d, lr, logits, 0);
        if (c.finalSoftcap() > 0) {
            be.parallelFor(lr, r -> VecOps.softcap(logits, r * c.vocabSize(), c.vocabSize(), c.finalSoftcap()));
        }
        return logits;
    }

    private void layer(int l, LayerWeights lw, KvCache cache, BoundHooks hooks, int p0, float[] cos, float[] sin) {
        int d = c.hiddenSize(), inter = c.intermediateSize();
        int rows = n;
        fire(hooks, points.blockId(l, RESID_PRE), x, d, p0);

        rowsParallel(t -> VecOps.rmsNorm(x, t * d, lw.inputNorm(), c.rmsNormEps(), xn, t * d, d));
        be.matmul(lw.q(), xn, rows, q);
        be.matmul(lw.k(), xn, rows, k);
        be.matmul(lw.v(), xn, rows, v);
        fire(hooks, points.blockId(l, Q), q, c.qDim(), p0);
        fire(hooks, points.blockId(l, K), k, c.kvDim(), p0);
        fire(hooks, points.blockId(l, V), v, c.kvDim(), p0);
        rowsParallel(t -> {
            rope.rotate(q, t * c.qDim(), c.numHeads(), cos, sin, t);
            rope.rotate(k, t * c.kvDim(), c.numKvHeads(), cos, sin, t);
        });
        fire(hooks, points.blockId(l, ROT_Q), q, c.qDim(), p0);
        fire(hooks, points.blockId(l, ROT_K), k, c.kvDim(), p0);

        System.arraycopy(k, 0, cache.keys(l), p0 * c.kvDim(), rows * c.kvDim());
        System.arraycopy(v, 0, cache.values(l), p0 * c.kvDim(), rows * c.kvDim());
        attention.compute(l, q, cache.keys(l), cache.values(l), p0, rows, z, hooks,
                points.blockId(l, ATTN_SCORES), points.blockId(l, PATTERN), points);
        fire(hooks, points.blockId(l, Z), z, c.qDim(), p0);

        be.matmul(lw.o(), z, rows, proj);
        rowsParallel(t -> VecOps.rmsNorm(proj, t * d, lw.postAttentionNorm(), c.rmsNormEps(), proj, t * d, d));
        fire(hooks, points.blockId(l, ATTN_OUT), proj, d, p0);
        VecOps.add(proj, 0, x, 0, rows * d);
        fire(hooks, points.blockId(l, RESID_MID), x, d, p0);

        rowsParallel(t -> VecOps.rmsNorm(x, t * d, lw.preFeedforwardNorm(), c.rmsNormEps(), xn, t * d, d));
        be.matmul(lw.gate(), xn, rows, gate);
        be.matmul(lw.up(), xn, rows, up);
        fire(hooks, points.blockId(l, MLP_PRE), gate, inter, p0);
        rowsParallel(t -> VecOps.gegluInPlace(gate, up, t * inter, inter));
        fire(hooks, points.blockId(l, MLP_POST), gate, inter, p0);
        be.matmul(lw.down(), gate, rows, proj);
        rowsParallel(t -> VecOps.rmsNorm(proj, t * d, lw.postFeedforwardNorm(), c.rmsNormEps(), proj, t * d, d));
        fire(hooks, points.blockId(l, MLP_OUT), proj, d, p0);
        VecOps.add(proj, 0, x, 0, rows * d);
        fire(hooks, points.blockId(l, RESID_POST), x, d, p0);
    }

    private void rowsParallel(java.util.function.IntConsumer body) {
        if (n == 1) body.accept(0);
        else be.parallelFor(n, body);
    }

    private void fire(BoundHooks hooks, int id, float[] data, int cols, int p0) {
        if (hooks.active(id)) hooks.fire(id, new Activation(points.name(id), new int[]{n, cols}, data, p0));
    }
}
