package dev.loupe.model.cpu;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

// Interim scalar backend so the forward pass can land; the Vector API kernels (branch kernels) replace this file.
public final class CpuBackend implements Backend {
    private final int threads;
    public CpuBackend(int threads) { this.threads = threads; }
    @Override
    public void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int in = w.cols(), outDim = w.rows();
        IntStream.range(0, outDim).parallel().forEach(o -> {
            float[] row = new float[in];
            w.readRow(o, row, 0);
            for (int r = 0; r < rows; r++) {
                float s = 0;
                for (int i = 0; i < in; i++) s += x[xOff + r * in + i] * row[i];
                out[outOff + r * outDim + o] = s;
            }
        });
    }
    @Override
    public void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) { throw new UnsupportedOperationException(); }
    @Override public void parallelFor(int count, IntConsumer body) { IntStream.range(0, count).parallel().forEach(body); }
    @Override public int threads() { return threads; }
    @Override public String name() { return "tmp"; }
    @Override public void close() { }
}
