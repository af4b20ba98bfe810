package dev.loupe.model;

import dev.loupe.model.cpu.HeapBackend;
import dev.loupe.model.tensor.WeightTensor;

import java.util.function.IntConsumer;

/**
 * Scalar, single-threaded matrix products that are obviously right: the oracle the fast kernels are checked against
 * (the activation operations are the heap backend's, run serially).
 */
public final class ReferenceBackend extends HeapBackend {
    @Override
    public void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int in = w.cols(), outDim = w.rows();
        float[] row = new float[in];
        for (int o = 0; o < outDim; o++) {
            w.readRow(o, row, 0);
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int i = 0; i < in; i++) s += (double) x[xOff + r * in + i] * row[i];
                out[outOff + r * outDim + o] = (float) s;
            }
        }
    }

    @Override
    public void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int in = w.rows(), outDim = w.cols();
        float[] row = new float[outDim];
        double[] acc = new double[rows * outDim];
        for (int i = 0; i < in; i++) {
            w.readRow(i, row, 0);
            for (int r = 0; r < rows; r++) {
                double xi = x[xOff + r * in + i];
                for (int o = 0; o < outDim; o++) acc[r * outDim + o] += xi * row[o];
            }
        }
        for (int k = 0; k < acc.length; k++) out[outOff + k] = (float) acc[k];
    }

    @Override public void parallelFor(int count, IntConsumer body) { for (int i = 0; i < count; i++) body.accept(i); }
    @Override public int threads() { return 1; }
    @Override public String name() { return "reference"; }
    @Override public void close() { }
}
