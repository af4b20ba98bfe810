package dev.loupe.model.backend;

import dev.loupe.model.tensor.WeightTensor;

import java.util.function.IntConsumer;

/**
 * The heavy kernels of a forward pass. The CPU implementation uses the Vector API; a TornadoVM one will
 * implement the same contract. Activations are row-major float arrays; weights stay in stored precision.
 */
public interface Backend extends AutoCloseable {

    /**
     * {@code out[r, o] = Σ_i x[r, i] · W[o, i]} for {@code r < rows}, where W is {@code [outDim, inDim]}
     * (the nn.Linear convention). {@code x} rows start at {@code xOff} with stride inDim; {@code out} rows start
     * at {@code outOff} with stride outDim. Many rows are computed as a blocked matrix-matrix product.
     */
    void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff);

    default void matmul(WeightTensor w, float[] x, int rows, float[] out) { matmul(w, x, 0, rows, out, 0); }

    /**
     * {@link #matmul} of one input by several weights of the same input width (q/k/v, gate/up): {@code outs[j]}
     * gets {@code rows × ws[j].rows()} values, starting at 0. A backend may run them as one pass, reading the
     * input once and synchronising once.
     */
    default void matmulEach(WeightTensor[] ws, float[] x, int rows, float[][] outs) {
        if (ws.length != outs.length) throw new IllegalArgumentException("matmulEach: " + ws.length + " weights but " + outs.length + " outputs");
        for (int j = 0; j < ws.length; j++) matmul(ws[j], x, 0, rows, outs[j], 0);
    }

    /**
     * {@code out[r, o] = Σ_i x[r, i] · W[i, o]} for {@code r < rows}, where W is {@code [inDim, outDim]}
     * (the Gemma Scope {@code W_enc} convention).
     */
    void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff);

    /** Runs {@code body(i)} for {@code i < count}, split across this backend's threads; returns when all are done. */
    void parallelFor(int count, IntConsumer body);

    int threads();

    String name();

    @Override
    void close();
}
