package dev.loupe.model.cpu;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ParallelForTest {

    @Test
    void visitsEveryIndexExactlyOnce() {
        try (CpuBackend b = new CpuBackend(2)) {
            for (int count : new int[]{1, 2, 3, 17, 1000, 100_003}) {
                AtomicIntegerArray seen = new AtomicIntegerArray(count);
                b.parallelFor(count, seen::incrementAndGet);
                for (int i = 0; i < count; i++) assertEquals(1, seen.get(i), "index " + i + " of " + count);
            }
            b.parallelFor(0, i -> { throw new AssertionError("called"); });
        }
    }

    @Test
    void manySmallJobsInARow() {
        try (CpuBackend b = new CpuBackend(2)) {
            long[] sums = new long[2];
            for (int job = 0; job < 20_000; job++) {
                AtomicIntegerArray seen = new AtomicIntegerArray(4);
                b.parallelFor(4, seen::incrementAndGet);
                for (int i = 0; i < 4; i++) sums[0] += seen.get(i);
            }
            sums[1] = 4 * 20_000;
            assertEquals(sums[1], sums[0]);
        }
    }

    @Test
    void exceptionsReachTheCaller() {
        try (CpuBackend b = new CpuBackend(2)) {
            IllegalStateException boom = new IllegalStateException("boom");
            var thrown = assertThrows(IllegalStateException.class, () -> b.parallelFor(64, i -> {
                if (i == 37) throw boom;
            }));
            assertSame(boom, thrown);
            AtomicIntegerArray seen = new AtomicIntegerArray(8);
            b.parallelFor(8, seen::incrementAndGet);   // still usable
            for (int i = 0; i < 8; i++) assertEquals(1, seen.get(i));
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (CpuBackend b = new CpuBackend(2)) {
            WeightTensor w = TestTensors.random(DType.BF16, 40, 96, 5);
            float[] x = TestTensors.randomFloats(3 * 96, 6);
            float[] expected = new float[3 * 40];
            b.matmul(w, x, 3, expected);
            float[][] outs = new float[8][3 * 40];
            AtomicIntegerArray inner = new AtomicIntegerArray(8 * 8);
            b.parallelFor(8, i -> {
                b.matmul(w, x, 3, outs[i]);
                b.parallelFor(8, j -> inner.incrementAndGet(i * 8 + j));
            });
            for (float[] o : outs) assertArrayEquals(expected, o);
            for (int i = 0; i < 64; i++) assertEquals(1, inner.get(i));
        }
    }

    @Test
    void concurrentCallersAreSerialized() throws Exception {
        try (CpuBackend b = new CpuBackend(2); ExecutorService callers = Executors.newFixedThreadPool(3)) {
            WeightTensor w = TestTensors.random(DType.Q8_0, 70, 128, 7);
            float[] x = TestTensors.randomFloats(9 * 128, 8);
            float[] expected = new float[9 * 70];
            b.matmul(w, x, 9, expected);
            Future<?>[] fs = new Future<?>[3];
            for (int t = 0; t < 3; t++) {
                fs[t] = callers.submit(() -> {
                    for (int rep = 0; rep < 50; rep++) {
                        float[] out = new float[9 * 70];
                        b.matmul(w, x, 9, out);
                        assertArrayEquals(expected, out);
                        float[] one = new float[70];
                        b.matmul(w, x, 1, one);
                    }
                    return null;
                });
            }
            for (Future<?> f : fs) f.get();
        }
    }

    @Test
    void closedBackendRejectsWork() {
        CpuBackend b = new CpuBackend(2);
        b.close();
        assertThrows(IllegalStateException.class, () -> b.parallelFor(10, i -> {}));
        WeightTensor w = TestTensors.random(DType.F32, 4, 8, 3);
        assertThrows(IllegalStateException.class, () -> b.matmul(w, new float[8], 1, new float[4]));
    }
}
