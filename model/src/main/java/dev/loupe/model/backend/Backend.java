package dev.loupe.model.backend;

import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.ModelWeights;

import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Every kernel of a forward pass: the seam between the model and the hardware. (SAE encoding and decoding are the
 * {@code sae} module's {@code SaeKernels}, built on this.)
 * The forward pass keeps its activations, the KV cache included, in {@link ActivationBuffer}s allocated here, and
 * moves a buffer to the host only where a hook is attached or logits are asked for; so a device backend keeps
 * them on the device between layers. Weights stay in stored precision; a device backend uploads each one once.
 *
 * <p>Buffers hold row-major tensors. {@code rows} is the number of positions in the chunk; widths come from
 * the weights and the {@link AttentionShape}. Operations of one backend run one after the other, in call order.
 * The CPU implementation uses the Vector API on heap arrays ({@link HostBuffer}); a TornadoVM one runs the same
 * operations as OpenCL/PTX kernels.
 */
public interface Backend extends AutoCloseable {

    // ---- heap products (SAE fitting, benchmarks, callers that hold float arrays) ----

    /**
     * {@code out[r, o] = Σ_i x[r, i] · W[o, i]} for {@code r < rows}, where W is {@code [outDim, inDim]}
     * (the nn.Linear convention). {@code x} rows start at {@code xOff} with stride inDim; {@code out} rows start
     * at {@code outOff} with stride outDim. Many rows are computed as a blocked matrix-matrix product.
     */
    void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff);

    default void matmul(WeightTensor w, float[] x, int rows, float[] out) { matmul(w, x, 0, rows, out, 0); }

    /**
     * {@code out[r, o] = Σ_i x[r, i] · W[i, o]} for {@code r < rows}, where W is {@code [inDim, outDim]}
     * (the Gemma Scope {@code W_enc} convention).
     */
    void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff);

    /** Runs {@code body(i)} for {@code i < count}, split across this backend's threads; returns when all are done. */
    void parallelFor(int count, IntConsumer body);

    /**
     * Announces the model whose weights operations will name: a device backend uploads them now, once, keeps them
     * there, and builds its programs for {@link #block} and {@link #head} from the config; heap backends read weights
     * where they lie and ignore this. Called when a model is built.
     */
    default void prepare(ModelWeights model) {}

    // ---- buffers ----

    /** A zeroed buffer of {@code floats} values. */
    ActivationBuffer allocate(int floats);

    /** {@code dst[dstOff + i] = src[srcOff + i]} for {@code i < n}. */
    void copy(ActivationBuffer src, int srcOff, ActivationBuffer dst, int dstOff, int n);

    // ---- forward-pass operations ----

    /** {@code out[r] = E[tokens[r]] · scale}: embedding rows, scaled (Gemma's {@code sqrt(hidden)}). */
    void embed(WeightTensor table, int[] tokens, float scale, ActivationBuffer out);

    /** {@link #matmul(WeightTensor, float[], int, int, float[], int)} on buffers: input rows from {@code xRow}, output from row 0. */
    void matmul(WeightTensor w, ActivationBuffer x, int xRow, int rows, ActivationBuffer out);

    /**
     * {@link #matmul(WeightTensor, ActivationBuffer, int, int, ActivationBuffer)} of one input by several weights of
     * the same input width (q/k/v, gate/up): {@code outs[j]} gets {@code rows × ws[j].rows()} values. A backend may
     * run them as one pass, reading the input once and synchronising once.
     */
    default void matmulEach(WeightTensor[] ws, ActivationBuffer x, int rows, ActivationBuffer[] outs) {
        if (ws.length != outs.length) throw new IllegalArgumentException("matmulEach: " + ws.length + " weights but " + outs.length + " outputs");
        for (int j = 0; j < ws.length; j++) matmul(ws[j], x, 0, rows, outs[j]);
    }

    /**
     * RMSNorm of each of {@code rows} rows of width {@code weight.length}: {@code out = x / sqrt(mean(x²) + eps) · weight},
     * where weight is the full multiplier (already 1 + w for HF checkpoints). {@code out} may be {@code x}.
     */
    void rmsNorm(ActivationBuffer x, float[] weight, float eps, int rows, ActivationBuffer out);

    /** Rotates, in place, every head of the {@code table.rows()} rows of {@code x} ({@code heads·headDim} wide). */
    void rope(ActivationBuffer x, int heads, RotaryTable table);

    /**
     * Writes {@code rows} keys and values ({@code kvDim} wide) into the cache buffers at positions
     * {@code [position, position + rows)}.
     */
    default void storeKv(ActivationBuffer k, ActivationBuffer v, int rows, int kvDim,
                         ActivationBuffer keyCache, ActivationBuffer valueCache, int position) {
        copy(k, 0, keyCache, position * kvDim, rows * kvDim);
        copy(v, 0, valueCache, position * kvDim, rows * kvDim);
    }

    /**
     * Attention of {@code rows} queries at positions {@code [p0, p0 + rows)} against cached keys {@code [0, p0 + rows)}:
     * scaled, soft-capped, causally masked (and windowed) scores, softmax, weighted sum of values into {@code z}.
     */
    void attention(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, ActivationBuffer values, int p0, int rows,
                   ActivationBuffer z);

    /** The first step of {@link #attention} made visible for hooks: scaled, soft-capped scores {@code [heads, rows, p0 + rows]}, unmasked. */
    void attentionScores(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, int p0, int rows, ActivationBuffer scores);

    /** Masks (causal and window: zero outside) and softmaxes scores in place, giving the pattern. */
    void attentionSoftmax(AttentionShape s, ActivationBuffer scores, int p0, int rows);

    /** {@code z[t, h] = Σ_j pattern[h, t, j] · V[j, kvHead(h)]}. */
    void attentionMix(AttentionShape s, ActivationBuffer pattern, ActivationBuffer values, int p0, int rows, ActivationBuffer z);

    /** {@code gate = gelu_tanh(gate) · up} over {@code rows} rows of {@code width} (GeGLU, exact tanh formula). */
    void geglu(ActivationBuffer gate, ActivationBuffer up, int rows, int width);

    /** {@code dst += src} over the first {@code n} values (the residual add). */
    void add(ActivationBuffer src, ActivationBuffer dst, int n);

    /** {@code x = cap · tanh(x / cap)} over {@code rows} rows of {@code width}; cap 0 leaves x alone. */
    void softcap(ActivationBuffer x, int rows, int width, float cap);

    // ---- whole steps (optional) ----
    // A device backend pays per dispatch, so it may run a whole block, or the head, as one program. The forward pass
    // asks only where no hook point inside the step is active, and runs the operations above one by one when the
    // answer is false (the default, and the CPU's answer: it gains nothing from fusing).

    /**
     * Runs block {@code step.layer()} of the model given to {@link #prepare}, or the half of it {@code step.span()}
     * names, exactly as the forward pass's operations would (norms, q/k/v, QK-norm where the architecture has it, RoPE,
     * the KV-cache write, fused attention, output projection, post-norms, residual adds, GeGLU MLP). Returns false,
     * having done nothing, when it cannot.
     */
    default boolean block(BlockStep step) { return false; }

    /** Runs the head (final norm, unembedding, final softcap) of the model given to {@link #prepare}; false: it cannot. */
    default boolean head(HeadStep step) { return false; }

    // ---- backward-pass operations (forward.BackwardPass) ----
    // One per forward operation above: each takes the gradient of that operation's output and gives the gradients
    // of its inputs, in buffers shaped like the activations. A backend that has no backward pass yet keeps these
    // defaults, which refuse in one line; the CPU backends implement them all.

    /** {@code dx[r, i] = Σ_o dy[r, o] · W[o, i]}: the input gradient of {@link #matmul(WeightTensor, ActivationBuffer, int, int, ActivationBuffer)} (overwrites dx). */
    default void matmulBackward(WeightTensor w, ActivationBuffer dy, int rows, ActivationBuffer dx) { throw noBackward("matmulBackward"); }

    /**
     * {@code dW[o, i] += Σ_r dy[r, o] · x[xRow + r, i]}: the weight gradient of a matmul, into a {@code [outDim, inDim]}
     * buffer.
     */
    default void matmulWeightGradient(ActivationBuffer dy, ActivationBuffer x, int xRow, int rows, int outDim, int inDim,
                                      ActivationBuffer dW) { throw noBackward("matmulWeightGradient"); }

    /**
     * The gradient of {@link #rmsNorm} at input {@code x}: {@code dx += ∂out/∂x^T · dy}, and, unless {@code dWeight} is
     * null, {@code dWeight += Σ_r dy ⊙ x / rms}. With {@code frozenScale} the factor {@code 1/rms} is held constant
     * (linearized attribution), so {@code dx += dy ⊙ weight / rms}.
     */
    default void rmsNormBackward(ActivationBuffer x, float[] weight, float eps, int rows, ActivationBuffer dy, boolean frozenScale,
                                 ActivationBuffer dx, ActivationBuffer dWeight) { throw noBackward("rmsNormBackward"); }

    /** The gradient of {@link #rope}: rotates {@code dx} back (the transpose of the rotation), in place. */
    default void ropeBackward(ActivationBuffer dx, int heads, RotaryTable table) { throw noBackward("ropeBackward"); }

    /**
     * The gradient of {@link #attentionMix}: {@code dPattern[h, t, j] = dz[t, h] · V[j, kvHead(h)]} for visible keys and 0
     * for masked ones (overwritten), and {@code dValues[j, kvHead] += Σ_{h, t} pattern[h, t, j] · dz[t, h]}.
     */
    default void attentionMixBackward(AttentionShape s, ActivationBuffer pattern, ActivationBuffer values, ActivationBuffer dz, int p0,
                                      int rows, ActivationBuffer dPattern, ActivationBuffer dValues) { throw noBackward("attentionMixBackward"); }

    /**
     * The gradient of {@link #attentionSoftmax}, in place: {@code dPattern} becomes the gradient of the (capped) scores,
     * {@code pattern ⊙ (dPattern − Σ_j pattern · dPattern)}, 0 where masked.
     */
    default void attentionSoftmaxBackward(AttentionShape s, ActivationBuffer pattern, ActivationBuffer dPattern, int p0, int rows) {
        throw noBackward("attentionSoftmaxBackward");
    }

    /**
     * The gradient of {@link #attentionScores} given its output {@code scores} (scaled and capped): through the softcap and
     * the scale, {@code dq += ...} for the {@code rows} queries and {@code dKeys += ...} for keys {@code [0, p0 + rows)}.
     */
    default void attentionScoresBackward(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, ActivationBuffer scores,
                                         ActivationBuffer dScores, int p0, int rows, ActivationBuffer dq, ActivationBuffer dKeys) {
        throw noBackward("attentionScoresBackward");
    }

    /**
     * The gradient of {@link #geglu} at the gate's value before it ({@code gatePre}) and {@code up}: {@code dGate} and
     * {@code dUp} are overwritten.
     */
    default void gegluBackward(ActivationBuffer gatePre, ActivationBuffer up, ActivationBuffer dOut, int rows, int width,
                               ActivationBuffer dGate, ActivationBuffer dUp) { throw noBackward("gegluBackward"); }

    /** The gradient of {@link #softcap} given its output {@code y}: {@code dy *= 1 − (y / cap)²} in place (cap 0: unchanged). */
    default void softcapBackward(ActivationBuffer y, ActivationBuffer dy, int rows, int width, float cap) { throw noBackward("softcapBackward"); }

    /** The gradient of {@link #embed} for the table: {@code dTable[tokens[r]] += scale · dy[r]}. */
    default void embedBackward(int[] tokens, float scale, ActivationBuffer dy, int width, ActivationBuffer dTable) {
        throw noBackward("embedBackward");
    }

    private UnsupportedOperationException noBackward(String op) {
        return new UnsupportedOperationException("the " + name() + " backend has no backward pass yet (" + op
                + "): compute gradients on the CPU backend");
    }

    int threads();

    String name();

    /**
     * Running totals a device backend keeps, by snake_case name, for benchmarks: {@code graph_executions} (task graphs
     * launched) and {@code graph_executions.<kind>} (per kind of graph), {@code device_kernel_ns} and {@code device_kernel_ns.<operation>} (when profiling),
     * {@code device_memory_bytes} (device memory held now), {@code device_arena_peak_bytes}. Empty for heap backends.
     */
    default Map<String, Long> deviceCounters() { return Map.of(); }

    @Override
    void close();
}
