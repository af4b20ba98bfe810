package dev.loupe.model.forward;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookPoints;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.BlockStep;
import dev.loupe.model.backend.HeadStep;
import dev.loupe.model.backend.RotaryTable;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.LayerWeights;

import java.util.ArrayList;
import java.util.List;

import static dev.loupe.hooks.BlockHook.*;

/**
 * The forward pass of every Gemma family member over a chunk of positions: a whole prompt at once (matrix-matrix work) or
 * one generated token, as a sequence of {@link Backend} operations on buffers that stay where the backend
 * computes. Keys and values go to a {@link KvCache}; every hook point is offered to the bound hooks, and a
 * buffer comes to the host (an {@link Activation}) only where a hook is attached; it goes back afterwards,
 * so hooks that replace an activation work on every backend. What differs between members is data: which norms
 * the blocks have (absent ones are skipped), QK-norm, each layer's window and RoPE, the softcaps (0: none). Buffers are sized for the chunk and kept between
 * calls of the same size (every generation step), so a step allocates nothing. Not thread-safe: one chunk at a time.
 *
 * <p>A block with no active hook point inside it (its residual input and output may be hooked) is offered whole to
 * the backend ({@link Backend#block}), and so is the head when nothing watches the final norm ({@link Backend#head}):
 * a device backend runs each as one program. With hooks inside, each half of the block (attention up to the
 * middle residual, MLP after it) is offered whole when no hook point inside that half is active. Where the backend
 * declines, or a hook point inside is active, the half runs operation by operation below, with every hook fired
 * next to its operation.
 */
public final class ForwardPass {
    private final ModelConfig c;
    private final ModelWeights w;
    private final Backend be;
    private final HookPoints points;
    private final AttentionShape[] attention;
    /** The distinct RoPE settings (one per layer type at most) and which one each layer uses. */
    private final Rope[] ropes;
    private final int[] ropeOf;
    private final boolean qkNorm, postAttentionNorm, postFeedforwardNorm;
    /**
     * Each layer's hook points between its residual input and output (the block runs whole only when none is active),
     * and those inside its attention half and its MLP half (the middle residual is in neither).
     */
    private final int[][] insidePoints, attentionPoints, mlpPoints;

    private int n = -1;
    private ActivationBuffer x, xn, q, k, v, z, proj, gate, up;
    private BlockStep.Scratch scratch;

    public ForwardPass(ModelWeights weights, Backend backend, HookPoints points) {
        this.c = weights.config();
        this.w = weights;
        this.be = backend;
        this.points = points;
        this.attention = new AttentionShape[c.numLayers()];
        List<Rope> distinct = new ArrayList<>();
        this.ropeOf = new int[c.numLayers()];
        for (int l = 0; l < attention.length; l++) {
            attention[l] = c.attentionShape(l);
            if (!distinct.contains(c.rope(l))) distinct.add(c.rope(l));
            ropeOf[l] = distinct.indexOf(c.rope(l));
        }
        this.ropes = distinct.toArray(Rope[]::new);
        Architecture arch = c.architecture();
        this.qkNorm = arch.qkNorm();
        this.postAttentionNorm = arch.has(LayerTensor.POST_ATTENTION_NORM);
        this.postFeedforwardNorm = arch.has(LayerTensor.POST_FEEDFORWARD_NORM);
        this.insidePoints = new int[c.numLayers()][];
        this.attentionPoints = new int[c.numLayers()][];
        this.mlpPoints = new int[c.numLayers()][];
        for (int l = 0; l < insidePoints.length; l++) {
            int layer = l;
            insidePoints[l] = arch.blockHooks().stream().filter(h -> h != RESID_PRE && h != RESID_POST)
                    .mapToInt(h -> points.blockId(layer, h)).toArray();
            attentionPoints[l] = arch.blockHooks().stream().filter(h -> h.compareTo(RESID_PRE) > 0 && h.compareTo(RESID_MID) < 0)
                    .mapToInt(h -> points.blockId(layer, h)).toArray();
            mlpPoints[l] = arch.blockHooks().stream().filter(h -> h.compareTo(RESID_MID) > 0 && h.compareTo(RESID_POST) < 0)
                    .mapToInt(h -> points.blockId(layer, h)).toArray();
        }
    }

    private void size(int rows) {
        if (rows == n) return;
        release();
        n = rows;
        x = be.allocate(n * c.hiddenSize());
        xn = be.allocate(n * c.hiddenSize());
        proj = be.allocate(n * c.hiddenSize());
        q = be.allocate(n * c.qDim());
        k = be.allocate(n * c.kvDim());
        v = be.allocate(n * c.kvDim());
        z = be.allocate(n * c.qDim());
        gate = be.allocate(n * c.intermediateSize());
        up = be.allocate(n * c.intermediateSize());
        scratch = new BlockStep.Scratch(xn, q, k, v, z, proj, gate, up);
    }

    /** Gives the working buffers back to the backend (the next call allocates again). */
    public void release() {
        for (ActivationBuffer b : new ActivationBuffer[]{x, xn, proj, q, k, v, z, gate, up}) if (b != null) b.release();
        x = xn = proj = q = k = v = z = gate = up = null;
        scratch = null;
        n = -1;
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
        if (rows == 0) throw new BadInputException("no tokens to process");
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new BadInputException("token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        int p0 = cache.length();
        cache.ensure(p0 + rows);
        size(rows);
        int d = c.hiddenSize();

        be.embed(w.embedding(), tokens, c.embeddingScale(), x);
        fire(hooks, points.embedId(), x, d, p0);

        // made when a block first runs op by op
        RotaryTable[] rope = new RotaryTable[ropes.length];
        int last = Math.min(stopAfterLayer, c.numLayers() - 1);
        for (int l = 0; l <= last; l++) {
            fire(hooks, points.blockId(l, RESID_PRE), x, d, p0);
            if (anyActive(hooks, insidePoints[l]) || !be.block(step(l, BlockStep.Span.WHOLE, cache, p0))) {
                if (anyActive(hooks, attentionPoints[l]) || !be.block(step(l, BlockStep.Span.ATTENTION, cache, p0))) {
                    if (rope[ropeOf[l]] == null) rope[ropeOf[l]] = RotaryTable.of(c.headDim(), ropes[ropeOf[l]], p0, rows);
                    attentionHalf(l, w.layers().get(l), cache, hooks, p0, rope[ropeOf[l]]);
                }
                fire(hooks, points.blockId(l, RESID_MID), x, d, p0);
                if (anyActive(hooks, mlpPoints[l]) || !be.block(step(l, BlockStep.Span.MLP, cache, p0))) {
                    mlpHalf(l, w.layers().get(l), hooks, p0);
                }
            }
            fire(hooks, points.blockId(l, RESID_POST), x, d, p0);
        }
        cache.advance(rows);
        if (last < c.numLayers() - 1) return null;

        boolean watched = hooks.active(points.lnFinalId());
        int lr = Math.min(Math.max(logitRows, 0), rows);
        if (!watched && lr == 0) return null;   // nothing reads the final norm
        ActivationBuffer logits = lr > 0 ? be.allocate(lr * c.vocabSize()) : null;
        try {
            if (!watched && be.head(new HeadStep(x, xn, rows, lr, logits))) return logits.toHost();
            be.rmsNorm(x, w.finalNorm(), c.rmsNormEps(), rows, xn);
            fire(hooks, points.lnFinalId(), xn, d, p0);
            if (lr == 0) return null;
            be.matmul(w.embedding(), xn, rows - lr, lr, logits);
            be.softcap(logits, lr, c.vocabSize(), c.finalSoftcap());
            return logits.toHost();
        } finally {
            if (logits != null) logits.release();
        }
    }

    private BlockStep step(int l, BlockStep.Span span, KvCache cache, int p0) {
        return new BlockStep(l, span, p0, n, x, scratch, cache.keys(l), cache.values(l));
    }

    private static boolean anyActive(BoundHooks hooks, int[] ids) {
        for (int id : ids) if (hooks.active(id)) return true;
        return false;
    }

    /** The attention half of block {@code l} operation by operation, up to the middle residual (its hooks fired by the caller). */
    private void attentionHalf(int l, LayerWeights lw, KvCache cache, BoundHooks hooks, int p0, RotaryTable rope) {
        int d = c.hiddenSize();
        int rows = n;
        be.rmsNorm(x, lw.inputNorm(), c.rmsNormEps(), rows, xn);
        be.matmulEach(new WeightTensor[]{lw.q(), lw.k(), lw.v()}, xn, rows, new ActivationBuffer[]{q, k, v});
        fire(hooks, points.blockId(l, Q), q, c.qDim(), p0);
        fire(hooks, points.blockId(l, K), k, c.kvDim(), p0);
        fire(hooks, points.blockId(l, V), v, c.kvDim(), p0);
        if (qkNorm) {
            // Each head's row of head_dim values is normed on its own: rows·heads rows of the head-norm's width.
            be.rmsNorm(q, lw.qNorm(), c.rmsNormEps(), rows * c.numHeads(), q);
            be.rmsNorm(k, lw.kNorm(), c.rmsNormEps(), rows * c.numKvHeads(), k);
            fire(hooks, points.blockId(l, Q_NORMED), q, c.qDim(), p0);
            fire(hooks, points.blockId(l, K_NORMED), k, c.kvDim(), p0);
        }
        be.rope(q, c.numHeads(), rope);
        be.rope(k, c.numKvHeads(), rope);
        fire(hooks, points.blockId(l, ROT_Q), q, c.qDim(), p0);
        fire(hooks, points.blockId(l, ROT_K), k, c.kvDim(), p0);

        be.storeKv(k, v, rows, c.kvDim(), cache.keys(l), cache.values(l), p0);
        attend(l, cache, hooks, p0);
        fire(hooks, points.blockId(l, Z), z, c.qDim(), p0);

        be.matmul(lw.o(), z, 0, rows, proj);
        if (postAttentionNorm) be.rmsNorm(proj, lw.postAttentionNorm(), c.rmsNormEps(), rows, proj);
        fire(hooks, points.blockId(l, ATTN_OUT), proj, d, p0);
        be.add(proj, x, rows * d);
    }

    /** The MLP half of block {@code l} operation by operation, from the middle residual (the residual hooks fired by the caller). */
    private void mlpHalf(int l, LayerWeights lw, BoundHooks hooks, int p0) {
        int d = c.hiddenSize(), inter = c.intermediateSize();
        int rows = n;
        be.rmsNorm(x, lw.preFeedforwardNorm(), c.rmsNormEps(), rows, xn);
        fire(hooks, points.blockId(l, LN2_NORMALIZED), xn, d, p0);
        be.matmulEach(new WeightTensor[]{lw.gate(), lw.up()}, xn, rows, new ActivationBuffer[]{gate, up});
        fire(hooks, points.blockId(l, MLP_PRE), gate, inter, p0);
        be.geglu(gate, up, rows, inter);
        fire(hooks, points.blockId(l, MLP_POST), gate, inter, p0);
        be.matmul(lw.down(), gate, 0, rows, proj);
        if (postFeedforwardNorm) be.rmsNorm(proj, lw.postFeedforwardNorm(), c.rmsNormEps(), rows, proj);
        fire(hooks, points.blockId(l, MLP_OUT), proj, d, p0);
        be.add(proj, x, rows * d);
    }

    /**
     * Attention into {@code z}. When a hook watches the scores or the pattern, the full {@code [heads, queries, keys]}
     * tensors are materialised in three steps so the hook can read or replace them; otherwise one fused operation
     * works over just each query's visible keys.
     */
    private void attend(int l, KvCache cache, BoundHooks hooks, int p0) {
        AttentionShape s = attention[l];
        int scoresId = points.blockId(l, ATTN_SCORES), patternId = points.blockId(l, PATTERN);
        if (!hooks.active(scoresId) && !hooks.active(patternId)) {
            be.attention(s, q, cache.keys(l), cache.values(l), p0, n, z);
            return;
        }
        int nKeys = p0 + n;
        int[] shape = {s.heads(), n, nKeys};
        ActivationBuffer scores = be.allocate(s.heads() * n * nKeys);
        try {
            be.attentionScores(s, q, cache.keys(l), p0, n, scores);
            fire(hooks, scoresId, scores, shape, p0);
            be.attentionSoftmax(s, scores, p0, n);
            fire(hooks, patternId, scores, shape, p0);
            be.attentionMix(s, scores, cache.values(l), p0, n, z);
        } finally {
            scores.release();
        }
    }

    private void fire(BoundHooks hooks, int id, ActivationBuffer data, int cols, int p0) {
        if (hooks.active(id)) fire(hooks, id, data, new int[]{n, cols}, p0);
    }

    private void fire(BoundHooks hooks, int id, ActivationBuffer data, int[] shape, int p0) {
        if (!hooks.active(id)) return;
        float[] host = data.toHost();
        hooks.fire(id, new Activation(points.name(id), shape, host, p0));
        data.fromHost(host);
    }
}
