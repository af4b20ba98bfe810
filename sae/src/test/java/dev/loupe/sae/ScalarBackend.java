package dev.loupe.sae;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;

import java.util.function.IntConsumer;

/** A plain-loop reference backend for tests: double accumulation, one thread, any weight dtype. */
final class ScalarBackend implements Backend {
    @Override public void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int outDim = w.rows(), inDim = w.cols();
        float[] row = new float[inDim];
        for (int o = 0; o < outDim; o++) {
            w.readRow(o, row, 0);
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int i = 0; i < inDim; i++) s += (double) x[xOff + r * inDim + i] * row[i];
                out[outOff + r * outDim + o] = (float) s;
            }
        }
    }

    @Override public void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int inDim = w.rows(), outDim = w.cols();
        double[] acc = new double[outDim];
        float[] row = new float[outDim];
        for (int r = 0; r < rows; r++) {
            java.util.Arrays.fill(acc, 0);
            for (int i = 0; i < inDim; i++) {
                w.readRow(i, row, 0);
                double xi = x[xOff + r * inDim + i];
                for (int o = 0; o < outDim; o++) acc[o] += xi * row[o];
            }
            for (int o = 0; o < outDim; o++) out[outOff + r * outDim + o] = (float) acc[o];
        }
    }

    @Override public void parallelFor(int count, IntConsumer body) {
        for (int i = 0; i < count; i++) body.accept(i);
    }

    @Override public int threads() { return 1; }

    @Override public String name() { return "scalar-test"; }

    @Override public void close() {}
}
