package dev.loupe.model.cpu;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.HostBuffer;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every kernel path against a scalar reference built from {@link WeightTensor#get} (the loaders' own
 * dequantization), in double precision. Sizes are chosen to hit the ragged edges: inner sizes that are not a
 * multiple of the vector length, output sizes that are not a multiple of any tile, row counts on both sides
 * of the kernels' row groups and panels, and inner sizes longer than one K-block.
 */
class CpuBackendTest {
    private static CpuBackend backend;

    @BeforeAll
    static void start() { backend = new CpuBackend(2); }

    @AfterAll
    static void stop() { backend.close(); }

    /** {@code out[r, o] = Σ_i x[r, i]·W[o, i]}, with the sum of magnitudes for the tolerance. */
    private static double[][] referenceNk(WeightTensor w, float[] x, int xOff, int rows) {
        int outDim = w.rows(), inDim = w.cols();
        double[][] ref = new double[2][rows * outDim];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < outDim; o++) {
                double s = 0, m = 0;
                for (int i = 0; i < inDim; i++) {
                    double p = (double) x[xOff + r * inDim + i] * w.get((long) o * inDim + i);
                    s += p;
                    m += Math.abs(p);
                }
                ref[0][r * outDim + o] = s;
                ref[1][r * outDim + o] = m;
            }
        }
        return ref;
    }

    /** {@code out[r, o] = Σ_i x[r, i]·W[i, o]}. */
    private static double[][] referenceKn(WeightTensor w, float[] x, int xOff, int rows) {
        int inDim = w.rows(), outDim = w.cols();
        double[][] ref = new double[2][rows * outDim];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < inDim; i++) {
                double xi = x[xOff + r * inDim + i];
                for (int o = 0; o < outDim; o++) {
                    double p = xi * w.get((long) i * outDim + o);
                    ref[0][r * outDim + o] += p;
                    ref[1][r * outDim + o] += Math.abs(p);
                }
            }
        }
        return ref;
    }

    private static void assertClose(String what, double[][] ref, float[] out, int outOff) {
        for (int j = 0; j < ref[0].length; j++) {
            double tol = 2e-6 * ref[1][j] + 1e-6;
            double got = out[outOff + j];
            if (!(Math.abs(got - ref[0][j]) <= tol)) {
                fail(what + ": element " + j + " is " + got + ", expected " + ref[0][j] + " ± " + tol);
            }
        }
    }

    private static List<int[]> shapes(DType type) {
        List<int[]> s = new ArrayList<>();
        if (type.blockSize() == 256) {
            s.add(new int[]{13, 256});
            s.add(new int[]{53, 512});
            s.add(new int[]{101, 768});   // two K-blocks
        } else if (type.quantized()) {
            s.add(new int[]{13, 64});
            s.add(new int[]{53, 96});
            s.add(new int[]{101, 544});   // two K-blocks
        } else {
            s.add(new int[]{13, 35});
            s.add(new int[]{50, 67});
            s.add(new int[]{101, 531});   // two K-blocks, ragged
        }
        return s;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void matmulMatchesScalarReference(DType type) {
        long seed = 1;
        for (int[] shape : shapes(type)) {
            WeightTensor w = TestTensors.random(type, shape[0], shape[1], seed++);
            for (int rows : new int[]{1, 2, 5, 6, 7, 17, 64, 70, 131}) {
                int xOff = 3, outOff = 5;
                float[] x = TestTensors.randomFloats(xOff + rows * shape[1], seed++);
                float[] out = new float[outOff + rows * shape[0] + 2];
                out[outOff - 1] = 42f;
                out[outOff + rows * shape[0]] = 43f;
                backend.matmul(w, x, xOff, rows, out, outOff);
                assertClose(type + " " + shape[0] + "x" + shape[1] + " rows=" + rows, referenceNk(w, x, xOff, rows), out, outOff);
                assertEquals(42f, out[outOff - 1], "wrote before out");
                assertEquals(43f, out[outOff + rows * shape[0]], "wrote past out");
            }
        }
    }

    /** One pass over several matrices of mixed types (as a K-quant mixture has) against the scalar reference of each. */
    @Test
    void matmulEachMatchesScalarReferenceOfEveryMatrix() {
        long seed = 500;
        for (int cols : new int[]{96, 256, 768}) {
            List<DType> types = java.util.Arrays.stream(DType.values()).filter(t -> cols % t.blockSize() == 0).toList();
            WeightTensor[] ws = new WeightTensor[types.size() + 1];
            float[][] outs = new float[ws.length][];
            for (int j = 0; j < ws.length; j++) {
                ws[j] = TestTensors.random(types.get(j % types.size()), 13 + 40 * j, cols, seed++);
                outs[j] = new float[ws[j].rows()];
            }
            for (int rows : new int[]{1, 3}) {
                float[] x = TestTensors.randomFloats(rows * cols, seed++);
                for (int j = 0; j < ws.length; j++) outs[j] = new float[rows * ws[j].rows()];
                ActivationBuffer[] bufs = new ActivationBuffer[ws.length];
                for (int j = 0; j < ws.length; j++) bufs[j] = new HostBuffer(outs[j]);
                backend.matmulEach(ws, new HostBuffer(x), rows, bufs);
                for (int j = 0; j < ws.length; j++) {
                    assertClose("matmulEach " + ws[j].dtype() + " " + ws[j].rows() + "x" + cols + " rows=" + rows,
                            referenceNk(ws[j], x, 0, rows), outs[j], 0);
                }
            }
        }
        WeightTensor a = TestTensors.random(DType.BF16, 8, 64, 1), b = TestTensors.random(DType.BF16, 8, 32, 2);
        assertThrows(IllegalArgumentException.class, () -> backend.matmulEach(new WeightTensor[]{a, b}, new HostBuffer(64), 1,
                new ActivationBuffer[]{new HostBuffer(8), new HostBuffer(8)}));
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void matmulKnMatchesScalarReference(DType type) {
        int[][] shapes = type.blockSize() == 256 ? new int[][]{{35, 256}, {300, 512}, {70, 768}}
                : type.quantized()
                ? new int[][]{{35, 64}, {300, 96}, {260, 160}}
                : new int[][]{{35, 70}, {300, 96}, {260, 131}};
        long seed = 100;
        for (int[] shape : shapes) {
            WeightTensor w = TestTensors.random(type, shape[0], shape[1], seed++);
            for (int rows : new int[]{1, 3, 5, 6, 7, 13, 24}) {
                int xOff = 2, outOff = 1;
                float[] x = TestTensors.randomFloats(xOff + rows * shape[0], seed++);
                float[] out = new float[outOff + rows * shape[1] + 1];
                out[outOff + rows * shape[1]] = 7f;
                backend.matmulKn(w, x, xOff, rows, out, outOff);
                assertClose(type + " Kn " + shape[0] + "x" + shape[1] + " rows=" + rows, referenceKn(w, x, xOff, rows), out, outOff);
                assertEquals(7f, out[outOff + rows * shape[1]], "wrote past out");
            }
        }
    }

    @Test
    void rowCountsBeyondOnePass() {
        WeightTensor w = TestTensors.random(DType.BF16, 13, 35, 21);
        int rows = PromptMatMul.ROWS_PER_PASS + 9;
        float[] x = TestTensors.randomFloats(rows * 35, 22);
        float[] out = new float[rows * 13];
        backend.matmul(w, x, rows, out);
        assertClose("matmul, two passes", referenceNk(w, x, 0, rows), out, 0);

        WeightTensor kn = TestTensors.random(DType.F32, 35, 70, 23);
        int knRows = KnMatMul.ROWS_PER_PASS + 3;
        float[] xk = TestTensors.randomFloats(knRows * 35, 24);
        float[] outK = new float[knRows * 70];
        backend.matmulKn(kn, xk, 0, knRows, outK, 0);
        assertClose("matmulKn, two passes", referenceKn(kn, xk, 0, knRows), outK, 0);
    }

    /** The decode-then-dot product is the fallback for quantized formats on machines without 16-lane vectors. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void decodedRowsMatchScalarReference(DType type) {
        // three decode chunks, the last short (and ragged for F16)
        int cols = type.blockSize() == 256 ? 1280 : type.quantized() ? 1088 : 1091;
        WeightTensor w = TestTensors.random(type, 21, cols, 11);
        float[] x = TestTensors.randomFloats(4 + cols, 12);
        float[] out = new float[21];
        DecodedRows.matVec(RowKernels.of(type), w.data(), cols, x, 4, out, 0, 0, 21, new float[DecodedRows.SCRATCH]);
        assertClose(type + " decoded rows", referenceNk(w, x, 4, 1), out, 0);
    }

    @Test
    void singleThreadBackendGivesTheSameResults() {
        try (CpuBackend one = new CpuBackend(1)) {
            WeightTensor w = TestTensors.random(DType.BF16, 77, 131, 9);
            float[] x = TestTensors.randomFloats(9 * 131, 10);
            float[] a = new float[9 * 77], b = new float[9 * 77];
            one.matmul(w, x, 9, a);
            backend.matmul(w, x, 9, b);
            assertClose("1 thread", referenceNk(w, x, 0, 9), a, 0);
            assertClose("2 threads", referenceNk(w, x, 0, 9), b, 0);
        }
    }

    @Test
    void rejectsArraysThatAreTooShort() {
        WeightTensor w = TestTensors.random(DType.F32, 4, 8, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> backend.matmul(w, new float[15], 0, 2, new float[8], 0));
        assertTrue(e.getMessage().contains("x needs 2 × 8 floats"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> backend.matmul(w, new float[16], 0, 2, new float[7], 0));
        assertThrows(IllegalArgumentException.class, () -> backend.matmulKn(w, new float[4], 1, 1, new float[8], 0));
    }

    @Test
    void zeroRowsIsANoOp() {
        WeightTensor w = TestTensors.random(DType.BF16, 4, 8, 3);
        float[] out = {1f};
        backend.matmul(w, new float[0], 0, 0, out, 1);
        assertEquals(1f, out[0]);
    }
}
