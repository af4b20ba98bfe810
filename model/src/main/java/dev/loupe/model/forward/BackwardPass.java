package dev.loupe.model.forward;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ActivationCache;
import dev.loupe.hooks.BlockHook;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.ChildHooks;
import dev.loupe.hooks.CompositeHook;
import dev.loupe.hooks.DifferentiableHook;
import dev.loupe.hooks.Hook;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.backend.RotaryTable;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.GradientResult;
import dev.loupe.model.grad.GradientResult.ParameterGradient;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.grad.Metric;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.LayerWeights;
import dev.loupe.model.weights.ModelWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.loupe.hooks.BlockHook.*;

/**
 * The gradient of a scalar metric of one prompt with respect to every hook point's activation and, when asked, every
 * weight: the Gemma 2 forward pass of {@link ForwardPass}, op for op, recorded on a per-layer {@link Tape}, then the
 * same operations backwards with the {@link Backend}'s backward counterparts. {@link #layerForward} and
 * {@link #layerBackward} are the block in both directions, side by side.
 *
 * <p>Hook points: forward hooks fire once, as in a run; one that replaces its activation must be a
 * {@link DifferentiableHook} and is differentiated through. At every point the gradient of the activation as the rest
 * of the pass saw it (after the forward hooks) is offered to the gradient hooks, which may read or replace it, then
 * taken back through the forward hooks. A masked entry of a pattern gets gradient 0.
 *
 * <p>Memory: either every layer's tape is kept, or only each layer's input (checkpointing) and the layer is
 * recomputed when the backward pass reaches it, hooks replaying what they did in the forward pass instead of
 * firing again. Not thread-safe; one run per instance.
 */
public final class BackwardPass {
    private final ModelConfig c;
    private final ModelWeights w;
    private final Backend be;
    private final HookPoints points;
    private final BoundHooks hooks;
    private final BoundHooks gradientHooks;
    /** Where the gradients asked for are copied (a gradient hook like any other). */
    private final ActivationCache capture;
    private final Metric metric;
    private final GradientRequest.Memory memory;
    private final Linearization lin;
    private final boolean parameters;
    private final AttentionShape[] attention;
    /** Per hooked point: what its forward hooks did (their inputs and the output the pass went on with). */
    private final Map<Integer, HookSite> sites = new HashMap<>();

    private int n;
    private int[] tokens;
    /** Each layer's RoPE table (layers of one type share theirs). */
    private RotaryTable[] ropes;
    private boolean replaying;
    /** Weight gradients by name, filled in the backward pass when asked. */
    private final Map<String, ActivationBuffer> paramGrads = new LinkedHashMap<>();
    private final Map<String, int[]> paramShapes = new LinkedHashMap<>();

    public BackwardPass(ModelWeights weights, Backend backend, HookPoints modelPoints, GradientRequest request) {
        this.c = weights.config();
        this.w = weights;
        this.be = backend;
        this.points = request.hooks().points(modelPoints);
        this.hooks = request.hooks().bind(modelPoints);
        ActivationCache captured = new ActivationCache();
        this.capture = captured;
        HookSet grads = request.gradientHooks().with(captured.hooksFor(request.capture()));
        this.gradientHooks = grads.bind(points);
        this.lin = request.linearization();
        this.parameters = request.parameters();
        this.attention = new AttentionShape[c.numLayers()];
        for (int l = 0; l < attention.length; l++) attention[l] = c.attentionShape(l);
        this.memory = request.memory();
        this.metric = request.metric();
    }

    /** One layer's forward values that its backward pass reads (inputs of each operation, outputs where the gradient needs them). */
    private static final class Tape {
        ActivationBuffer xIn, xnAttn, q, k, qNormed, kNormed, qRot, kRot, v, scores, softmaxOut, pattern, z, oOut, xMid, xnMlp, gatePre, up, post,
                downOut, xOut;
    }

    /** What the forward hooks at one point did. */
    private static final class HookSite {
        /** Per hook at the point, its input when it is differentiable (else null). */
        float[][] inputs;
        /** The activation after all hooks: what a recomputation uses instead of firing them again. */
        float[] output;
    }

    /** Runs the forward pass over {@code tokens}, evaluates the metric and takes its gradient back to the embedding. */
    public GradientResult run(int[] tokens) {
        int rows = tokens.length;
        if (rows == 0) throw BadInputException.of("tokens", "no tokens to differentiate");
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw BadInputException.of("tokens", "token id " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        Metric.Resolved m = metric.resolve(tokens, c.vocabSize());
        this.n = rows;
        this.tokens = tokens.clone();
        this.ropes = new RotaryTable[c.numLayers()];
        java.util.Map<dev.loupe.model.arch.Rope, RotaryTable> byRope = new java.util.HashMap<>();
        for (int l = 0; l < ropes.length; l++) ropes[l] = byRope.computeIfAbsent(c.rope(l), r -> RotaryTable.of(c.headDim(), r, 0, rows));
        int d = c.hiddenSize(), layers = c.numLayers();
        boolean keep = switch (memory) {
            case KEEP -> true;
            case RECOMPUTE -> false;
            case AUTO -> 4L * tapeFloats() * layers < Runtime.getRuntime().maxMemory() / 4;
        };

        // ---- forward, keeping each layer's input (and its whole tape when kept) ----
        ActivationBuffer x = be.allocate(rows * d);
        be.embed(w.embedding(), tokens, c.embeddingScale(), x);
        fire(points.embedId(), x, d);
        ActivationBuffer[] inputs = new ActivationBuffer[layers];
        Tape[] tapes = new Tape[layers];
        for (int l = 0; l < layers; l++) {
            inputs[l] = x;
            Tape t = layerForward(l, x);
            if (keep) tapes[l] = t;
            x = t.xOut;
        }
        ActivationBuffer xn = be.allocate(rows * d);
        be.rmsNorm(x, w.finalNorm(), c.rmsNormEps(), rows, xn);
        fire(points.lnFinalId(), xn, d);

        int lr = m.rows(), vocab = c.vocabSize();
        ActivationBuffer logits = be.allocate(lr * vocab);
        be.matmul(w.embedding(), xn, m.firstPosition(), lr, logits);
        float cap = lin.identitySoftcap() ? 0f : c.finalSoftcap();
        be.softcap(logits, lr, vocab, cap);
        float[] hostLogits = logits.toHost().clone();
        Metric.Logits view = new Metric.Logits(hostLogits, m.firstPosition(), lr, vocab);
        float[] dLogitsHost = new float[lr * vocab];
        double value = m.function().evaluate(view, dLogitsHost);
        if (!Double.isFinite(value)) throw new BadInputException("the metric is " + value + " on this prompt");

        // ---- backward ----
        ActivationBuffer dLogits = be.allocate(lr * vocab);
        dLogits.fromHost(dLogitsHost);
        be.softcapBackward(logits, dLogits, lr, vocab, cap);
        ActivationBuffer dRows = be.allocate(lr * d);
        be.matmulBackward(w.embedding(), dLogits, lr, dRows);
        ActivationBuffer dxn = be.allocate(rows * d);
        be.copy(dRows, 0, dxn, m.firstPosition() * d, lr * d);
        if (parameters) {
            be.matmulWeightGradient(dLogits, xn, m.firstPosition(), lr, vocab, d, param(w.embedding()));
        }
        gradientAt(points.lnFinalId(), dxn, d);
        ActivationBuffer dx = be.allocate(rows * d);
        be.rmsNormBackward(x, w.finalNorm(), c.rmsNormEps(), rows, dxn, lin.frozenNorms(), dx,
                parameters ? param(names().finalNorm(), d) : null);
        replaying = !keep;
        for (int l = layers - 1; l >= 0; l--) {
            Tape t = keep ? tapes[l] : layerForward(l, inputs[l]);
            tapes[l] = null;
            inputs[l] = null;
            dx = layerBackward(l, t, dx);
        }
        gradientAt(points.embedId(), dx, d);
        if (parameters) be.embedBackward(tokens, c.embeddingScale(), dx, d, param(w.embedding()));

        Map<String, ParameterGradient> params = new LinkedHashMap<>();
        for (var e : paramGrads.entrySet()) {
            params.put(e.getKey(), new ParameterGradient(e.getKey(), paramShapes.get(e.getKey()), e.getValue().toHost()));
        }
        return new GradientResult(value, m.details(), view, capture, params);
    }

    /** Floats one layer's tape holds: what {@link GradientRequest.Memory#AUTO} weighs against the heap. */
    private long tapeFloats() {
        long rows = n, d = c.hiddenSize(), inter = c.intermediateSize();
        long perRow = 6 * d + 3L * c.qDim() + 3L * c.kvDim() + 3 * inter;
        return rows * perRow + 3L * c.numHeads() * rows * rows;
    }

    // ---- the block, forward (recording) ----

    private Tape layerForward(int l, ActivationBuffer input) {
        LayerWeights lw = w.layers().get(l);
        int d = c.hiddenSize(), inter = c.intermediateSize(), rows = n;
        AttentionShape s = attention[l];
        Tape t = new Tape();
        t.xIn = copyOf(input, rows * d);
        fire(points.blockId(l, RESID_PRE), t.xIn, d);

        t.xnAttn = be.allocate(rows * d);
        be.rmsNorm(t.xIn, lw.inputNorm(), c.rmsNormEps(), rows, t.xnAttn);
        t.q = be.allocate(rows * c.qDim());
        t.k = be.allocate(rows * c.kvDim());
        t.v = be.allocate(rows * c.kvDim());
        be.matmulEach(new WeightTensor[]{lw.q(), lw.k(), lw.v()}, t.xnAttn, rows, new ActivationBuffer[]{t.q, t.k, t.v});
        fire(points.blockId(l, Q), t.q, c.qDim());
        fire(points.blockId(l, K), t.k, c.kvDim());
        fire(points.blockId(l, V), t.v, c.kvDim());
        ActivationBuffer qIn = t.q, kIn = t.k;
        if (lw.qNorm() != null) {
            // QK-norm (Gemma 3): each head's row normed on its own, before RoPE.
            t.qNormed = be.allocate(rows * c.qDim());
            t.kNormed = be.allocate(rows * c.kvDim());
            be.rmsNorm(t.q, lw.qNorm(), c.rmsNormEps(), rows * c.numHeads(), t.qNormed);
            be.rmsNorm(t.k, lw.kNorm(), c.rmsNormEps(), rows * c.numKvHeads(), t.kNormed);
            fire(points.blockId(l, Q_NORMED), t.qNormed, c.qDim());
            fire(points.blockId(l, K_NORMED), t.kNormed, c.kvDim());
            qIn = t.qNormed;
            kIn = t.kNormed;
        }
        t.qRot = copyOf(qIn, rows * c.qDim());
        t.kRot = copyOf(kIn, rows * c.kvDim());
        be.rope(t.qRot, c.numHeads(), ropes[l]);
        be.rope(t.kRot, c.numKvHeads(), ropes[l]);
        fire(points.blockId(l, ROT_Q), t.qRot, c.qDim());
        fire(points.blockId(l, ROT_K), t.kRot, c.kvDim());

        int[] shape = {s.heads(), rows, rows};
        int patternSize = s.heads() * rows * rows;
        t.scores = be.allocate(patternSize);
        be.attentionScores(s, t.qRot, t.kRot, 0, rows, t.scores);
        int scoresId = points.blockId(l, ATTN_SCORES), patternId = points.blockId(l, PATTERN);
        // The softcap's and the softmax's gradients read their own outputs: keep those apart from what hooks make of them.
        t.pattern = copyOf(t.scores, patternSize);
        fire(scoresId, t.pattern, shape);
        be.attentionSoftmax(s, t.pattern, 0, rows);
        t.softmaxOut = hooked(patternId) ? copyOf(t.pattern, patternSize) : t.pattern;
        fire(patternId, t.pattern, shape);
        t.z = be.allocate(rows * c.qDim());
        be.attentionMix(s, t.pattern, t.v, 0, rows, t.z);
        fire(points.blockId(l, Z), t.z, c.qDim());

        t.oOut = be.allocate(rows * d);
        be.matmul(lw.o(), t.z, 0, rows, t.oOut);
        ActivationBuffer attnOut = postNorm(t.oOut, lw.postAttentionNorm(), rows);
        fire(points.blockId(l, ATTN_OUT), attnOut, d);
        t.xMid = copyOf(t.xIn, rows * d);
        be.add(attnOut, t.xMid, rows * d);
        fire(points.blockId(l, RESID_MID), t.xMid, d);

        t.xnMlp = be.allocate(rows * d);
        be.rmsNorm(t.xMid, lw.preFeedforwardNorm(), c.rmsNormEps(), rows, t.xnMlp);
        fire(points.blockId(l, LN2_NORMALIZED), t.xnMlp, d);
        t.gatePre = be.allocate(rows * inter);
        t.up = be.allocate(rows * inter);
        be.matmulEach(new WeightTensor[]{lw.gate(), lw.up()}, t.xnMlp, rows, new ActivationBuffer[]{t.gatePre, t.up});
        fire(points.blockId(l, MLP_PRE), t.gatePre, inter);
        t.post = copyOf(t.gatePre, rows * inter);
        be.geglu(t.post, t.up, rows, inter);
        fire(points.blockId(l, MLP_POST), t.post, inter);
        t.downOut = be.allocate(rows * d);
        be.matmul(lw.down(), t.post, 0, rows, t.downOut);
        ActivationBuffer mlpOut = postNorm(t.downOut, lw.postFeedforwardNorm(), rows);
        fire(points.blockId(l, MLP_OUT), mlpOut, d);
        t.xOut = copyOf(t.xMid, rows * d);
        be.add(mlpOut, t.xOut, rows * d);
        fire(points.blockId(l, RESID_POST), t.xOut, d);
        return t;
    }

    // ---- the block, backward: the same operations in reverse ----

    /** Takes {@code dOut} (d metric / d this layer's output) back to d metric / d its input. */
    private ActivationBuffer layerBackward(int l, Tape t, ActivationBuffer dOut) {
        LayerWeights lw = w.layers().get(l);
        int d = c.hiddenSize(), inter = c.intermediateSize(), rows = n, qDim = c.qDim(), kvDim = c.kvDim();
        AttentionShape s = attention[l];
        boolean frozenNorms = lin.frozenNorms();
        gradientAt(points.blockId(l, RESID_POST), dOut, d);

        // x_out = x_mid + mlp_out: both get the gradient.
        ActivationBuffer dx = copyOf(dOut, rows * d);
        ActivationBuffer dMlpOut = dOut;
        gradientAt(points.blockId(l, MLP_OUT), dMlpOut, d);
        ActivationBuffer dPost = be.allocate(rows * inter), dGate = be.allocate(rows * inter), dUp = be.allocate(rows * inter);
        if (!lin.frozenMlpOutputs()) {
            ActivationBuffer dDown = be.allocate(rows * d);
            if (lw.postFeedforwardNorm() == null) be.copy(dMlpOut, 0, dDown, 0, rows * d);
            else be.rmsNormBackward(t.downOut, lw.postFeedforwardNorm(), c.rmsNormEps(), rows, dMlpOut, frozenNorms, dDown,
                    normGrad(l, LayerTensor.POST_FEEDFORWARD_NORM));
            be.matmulBackward(lw.down(), dDown, rows, dPost);
            weightGrad(lw.down(), dDown, t.post);
        }
        gradientAt(points.blockId(l, MLP_POST), dPost, inter);
        if (!lin.frozenMlpOutputs()) be.gegluBackward(t.gatePre, t.up, dPost, rows, inter, dGate, dUp);
        gradientAt(points.blockId(l, MLP_PRE), dGate, inter);
        if (!lin.frozenMlpOutputs()) {
            ActivationBuffer dXn = be.allocate(rows * d), part = be.allocate(rows * d);
            be.matmulBackward(lw.gate(), dGate, rows, dXn);
            be.matmulBackward(lw.up(), dUp, rows, part);
            be.add(part, dXn, rows * d);
            weightGrad(lw.gate(), dGate, t.xnMlp);
            weightGrad(lw.up(), dUp, t.xnMlp);
            gradientAt(points.blockId(l, LN2_NORMALIZED), dXn, d);
            be.rmsNormBackward(t.xMid, lw.preFeedforwardNorm(), c.rmsNormEps(), rows, dXn, frozenNorms, dx,
                    normGrad(l, LayerTensor.PRE_FEEDFORWARD_NORM));
        }
        gradientAt(points.blockId(l, RESID_MID), dx, d);

        // x_mid = x_in + attn_out.
        ActivationBuffer dAttnOut = copyOf(dx, rows * d);
        gradientAt(points.blockId(l, ATTN_OUT), dAttnOut, d);
        ActivationBuffer dO = be.allocate(rows * d);
        if (lw.postAttentionNorm() == null) be.copy(dAttnOut, 0, dO, 0, rows * d);
        else be.rmsNormBackward(t.oOut, lw.postAttentionNorm(), c.rmsNormEps(), rows, dAttnOut, frozenNorms, dO,
                normGrad(l, LayerTensor.POST_ATTENTION_NORM));
        ActivationBuffer dz = be.allocate(rows * qDim);
        be.matmulBackward(lw.o(), dO, rows, dz);
        weightGrad(lw.o(), dO, t.z);
        gradientAt(points.blockId(l, Z), dz, qDim);

        int[] shape = {s.heads(), rows, rows};
        ActivationBuffer dPattern = be.allocate(s.heads() * rows * rows), dv = be.allocate(rows * kvDim);
        be.attentionMixBackward(s, t.pattern, t.v, dz, 0, rows, dPattern, dv);
        gradientAt(points.blockId(l, PATTERN), dPattern, shape);
        ActivationBuffer dqRot = be.allocate(rows * qDim), dkRot = be.allocate(rows * kvDim);
        if (lin.frozenPatterns()) {
            // The pattern is a constant: nothing reaches the scores, queries or keys.
            dPattern = be.allocate(s.heads() * rows * rows);
        } else {
            be.attentionSoftmaxBackward(s, t.softmaxOut, dPattern, 0, rows);
        }
        gradientAt(points.blockId(l, ATTN_SCORES), dPattern, shape);
        if (!lin.frozenPatterns()) be.attentionScoresBackward(s, t.qRot, t.kRot, t.scores, dPattern, 0, rows, dqRot, dkRot);
        gradientAt(points.blockId(l, ROT_Q), dqRot, qDim);
        gradientAt(points.blockId(l, ROT_K), dkRot, kvDim);
        be.ropeBackward(dqRot, c.numHeads(), ropes[l]);
        be.ropeBackward(dkRot, c.numKvHeads(), ropes[l]);
        gradientAt(points.blockId(l, V), dv, kvDim);
        if (lw.qNorm() != null) {
            gradientAt(points.blockId(l, K_NORMED), dkRot, kvDim);
            gradientAt(points.blockId(l, Q_NORMED), dqRot, qDim);
            ActivationBuffer dq = be.allocate(rows * qDim), dk = be.allocate(rows * kvDim);
            be.rmsNormBackward(t.q, lw.qNorm(), c.rmsNormEps(), rows * c.numHeads(), dqRot, frozenNorms, dq,
                    normGrad(l, LayerTensor.Q_NORM));
            be.rmsNormBackward(t.k, lw.kNorm(), c.rmsNormEps(), rows * c.numKvHeads(), dkRot, frozenNorms, dk,
                    normGrad(l, LayerTensor.K_NORM));
            dqRot = dq;
            dkRot = dk;
        }
        gradientAt(points.blockId(l, K), dkRot, kvDim);
        gradientAt(points.blockId(l, Q), dqRot, qDim);

        ActivationBuffer dXn = be.allocate(rows * d), part = be.allocate(rows * d);
        be.matmulBackward(lw.q(), dqRot, rows, dXn);
        be.matmulBackward(lw.k(), dkRot, rows, part);
        be.add(part, dXn, rows * d);
        be.matmulBackward(lw.v(), dv, rows, part);
        be.add(part, dXn, rows * d);
        weightGrad(lw.q(), dqRot, t.xnAttn);
        weightGrad(lw.k(), dkRot, t.xnAttn);
        weightGrad(lw.v(), dv, t.xnAttn);
        be.rmsNormBackward(t.xIn, lw.inputNorm(), c.rmsNormEps(), rows, dXn, frozenNorms, dx, normGrad(l, LayerTensor.INPUT_NORM));
        gradientAt(points.blockId(l, RESID_PRE), dx, d);
        return dx;
    }

    // ---- hook points ----

    private boolean hooked(int id) { return hooks.active(id); }

    private void fire(int id, ActivationBuffer data, int cols) { fire(id, data, new int[]{n, cols}); }

    /**
     * Offers a forward activation to the hooks at {@code id}, remembering what a differentiable hook got as input and
     * refusing a hook that changed the activation without saying how to differentiate it. A recomputation puts back
     * what the hooks made the first time instead of running them again.
     */
    private void fire(int id, ActivationBuffer data, int[] shape) {
        if (!hooks.active(id)) return;
        if (replaying) {
            data.fromHost(sites.get(id).output.clone());
            return;
        }
        float[] host = data.toHost();
        List<Hook> at = hooks.hooksAt(id);
        HookSite site = new HookSite();
        site.inputs = new float[at.size()][];
        Activation a = new Activation(points.name(id), shape, host, 0);
        for (int j = 0; j < at.size(); j++) {
            float[] before = host.clone();
            hooks.fireOne(id, j, a);
            if (at.get(j) instanceof DifferentiableHook) {
                site.inputs[j] = before;
            } else if (!Arrays.equals(before, host)) {
                throw new BadInputException("hook " + at.get(j) + " at " + points.name(id) + " replaced the activation in a "
                        + "gradient run but is not a DifferentiableHook: wrap it with DifferentiableHook.additive(...) if it adds a "
                        + "constant, or implement its backward");
            }
        }
        site.output = host.clone();
        sites.put(id, site);
        data.fromHost(host);
    }

    private void gradientAt(int id, ActivationBuffer grad, int cols) { gradientAt(id, grad, new int[]{n, cols}); }

    /**
     * The gradient at a hook point: offered to the gradient hooks there (which may replace it), then taken back through
     * the forward hooks, last first, so that {@code grad} leaves as d metric / d (the activation before the hooks).
     */
    private void gradientAt(int id, ActivationBuffer grad, int[] shape) {
        HookSite site = sites.get(id);
        boolean differentiable = site != null && Arrays.stream(site.inputs).anyMatch(java.util.Objects::nonNull);
        if (!gradientHooks.active(id) && !differentiable) return;
        float[] host = grad.toHost();
        Activation g = new Activation(points.name(id), shape, host, 0);
        if (gradientHooks.active(id)) gradientHooks.fire(id, g);
        if (differentiable) {
            List<Hook> at = hooks.hooksAt(id);
            for (int j = at.size() - 1; j >= 0; j--) {
                if (site.inputs[j] == null) continue;
                Hook h = at.get(j);
                ChildHooks children = h instanceof CompositeHook comp ? gradientHooks.childrenOf(points.name(id), comp) : ChildHooks.NONE;
                ((DifferentiableHook) h).backward(new Activation(points.name(id), shape, site.inputs[j], 0), g, children);
            }
        }
        grad.fromHost(host);
    }

    // ---- weight gradients ----

    private void weightGrad(WeightTensor weight, ActivationBuffer dy, ActivationBuffer x) {
        if (!parameters) return;
        be.matmulWeightGradient(dy, x, 0, n, weight.rows(), weight.cols(), param(weight));
    }

    private ActivationBuffer param(WeightTensor weight) {
        return paramGrads.computeIfAbsent(weight.name(), k -> {
            paramShapes.put(k, new int[]{weight.rows(), weight.cols()});
            return be.allocate(Math.toIntExact((long) weight.rows() * weight.cols()));
        });
    }

    private ActivationBuffer param(String name, int size) {
        return paramGrads.computeIfAbsent(name, k -> {
            paramShapes.put(k, new int[]{size});
            return be.allocate(size);
        });
    }

    private ActivationBuffer normGrad(int layer, LayerTensor role) {
        return parameters ? param(names().norm(c.architecture(), layer, role), (int) role.shape(c)[0]) : null;
    }

    private ParameterNames names() { return ParameterNames.of(w); }

    /**
     * A sub-block's output after its post-norm (Gemma 2 and 3), or a copy of it where the architecture has none (Gemma 1):
     * a new buffer either way, since the tape keeps the pre-norm input for the backward pass.
     */
    private ActivationBuffer postNorm(ActivationBuffer in, float[] weight, int rows) {
        int width = c.hiddenSize();
        ActivationBuffer out = be.allocate(rows * width);
        if (weight != null) be.rmsNorm(in, weight, c.rmsNormEps(), rows, out);
        else be.copy(in, 0, out, 0, rows * width);
        return out;
    }

    private ActivationBuffer copyOf(ActivationBuffer src, int size) {
        ActivationBuffer b = be.allocate(size);
        be.copy(src, 0, b, 0, size);
        return b;
    }

    /**
     * Norm weights live on the heap without names; these are their names in the checkpoint's own scheme (the
     * architecture's per format; an HF checkpoint's text-model prefix is the embedding's).
     */
    record ParameterNames(boolean gguf, String hfPrefix) {
        static ParameterNames of(ModelWeights w) {
            String e = w.embedding().name();
            boolean gguf = e.startsWith("token_embd");
            String prefix = !gguf && e.endsWith(Architecture.HF_EMBEDDING) ? e.substring(0, e.length() - Architecture.HF_EMBEDDING.length())
                    : TensorName.HF_TEXT_PREFIX;
            return new ParameterNames(gguf, prefix);
        }

        String finalNorm() { return gguf ? Architecture.GGUF_FINAL_NORM : hfPrefix + Architecture.HF_FINAL_NORM; }

        String norm(Architecture arch, int layer, LayerTensor role) {
            for (TensorName t : arch.layerTensors()) {
                if (t.role() == role) return gguf ? t.ggufAt(layer) : t.hfAt(hfPrefix, layer);
            }
            throw new IllegalArgumentException(arch.name() + " has no " + role);
        }
    }
}
