package dev.loupe.model.cpu;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorsTest {
    /**
     * Lanes of mixed magnitudes and signs, where the order of the additions shows in the last bits (a tree of
     * pairwise sums gives other floats than lane 0 + lane 1 + ... in turn).
     */
    private static float[] lanes(int n) {
        SplittableRandom r = new SplittableRandom(11);
        float[] x = new float[n * Vectors.L];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble(-1, 1) * Math.pow(10, r.nextInt(-3, 5)));
        return x;
    }

    /** The sum in lane order, as a scalar loop adds it: what sumLanes must give, cold or compiled. */
    private static float inOrder(float[] x, int from) {
        float sum = 0;
        for (int i = 0; i < Vectors.L; i++) sum += x[from + i];
        return sum;
    }

    private static float[] sums(float[] x) {
        float[] out = new float[x.length / Vectors.L], lanes = new float[Vectors.L];
        for (int v = 0; v < out.length; v++) out[v] = Vectors.sumLanes(FloatVector.fromArray(Vectors.F, x, v * Vectors.L), lanes);
        return out;
    }

    @Test
    void addsTheLanesInOrderBeforeAndAfterTheJitCompilesIt() {
        float[] x = lanes(4096);
        float[] cold = sums(x);
        for (int v = 0; v < cold.length; v++) assertEquals(inOrder(x, v * Vectors.L), cold[v], 0f, "vector " + v);
        for (int round = 0; round < 300; round++) sums(x);
        float[] warm = sums(x);
        for (int v = 0; v < warm.length; v++) assertEquals(cold[v], warm[v], 0f, "vector " + v);
        // The inputs do tell the order apart: the tree order gives other bits for some of them.
        int differ = 0;
        for (int v = 0; v < cold.length; v++) {
            float[] t = java.util.Arrays.copyOfRange(x, v * Vectors.L, (v + 1) * Vectors.L);
            for (int width = 1; width < t.length; width *= 2) for (int i = 0; i + width < t.length; i += 2 * width) t[i] += t[i + width];
            if (t[0] != cold[v]) differ++;
        }
        assertEquals(true, Vectors.L < 4 || differ > 0, "pairwise sums differ from in-order sums on some vectors");
    }

    /**
     * Once C2 has compiled it, a matrix-vector product allocates nothing per row. The lane sum once went through
     * a fresh array that C2 kept: 64 bytes of floats per row, 16 MB per token for a 256k vocabulary, half of what
     * {@code loupe serve} allocated under load, so its old generation filled with them between collections.
     */
    @Test
    void aMatrixVectorProductAllocatesNothingPerRowOnceCompiled() {
        int rows = 4096, cols = 64;
        WeightTensor w = TestTensors.random(DType.F32, rows, cols, 3);
        float[] x = TestTensors.randomFloats(cols, 4), out = new float[rows], buf = new float[DecodedRows.SCRATCH];
        RowKernels kernels = RowKernels.of(DType.F32);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long perCall = Long.MAX_VALUE;
        // Compiled in the background: measure until the compiled code runs, at most 30 s on a loaded machine.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (perCall > 1024 && System.nanoTime() < deadline) {
            for (int i = 0; i < 200; i++) kernels.matVec(w.data(), cols, x, 0, out, 0, 0, rows, buf);
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 20; i++) kernels.matVec(w.data(), cols, x, 0, out, 0, 0, rows, buf);
            perCall = (threads.getCurrentThreadAllocatedBytes() - before) / 20;
        }
        assertTrue(perCall <= 1024, "bytes allocated by one " + rows + "-row product once compiled: " + perCall);
    }
}
