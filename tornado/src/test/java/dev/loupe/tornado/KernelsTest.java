package dev.loupe.tornado;

import dev.loupe.model.tensor.Floats;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The matmul and embedding kernels on their own, on the device, against float64 sums: shapes that are not multiples
 * of the tile or group size, decoding (one row) and tiled (several rows), FP32 and BF16 pools, parameters read from
 * a non-zero base, a part whose outputs land inside a wider output row.
 */
class KernelsTest {
    static final int IN = 37, OUT = 21, STRIDE = 29, FIRST = 5, BASE = 3;
    static final int X = 0, OUT_AT = 1000, TABLE_AT = 1600, ARENA = 2400, W_OFF = 11;

    @Test
    void matmulsMatchFloat64ForOneRowAndForTiles() throws Exception {
        Random random = new Random(19);
        float[] weights = new float[OUT * IN];
        for (int i = 0; i < weights.length; i++) weights[i] = Floats.bf16ToFloat(Floats.floatToBf16((float) random.nextGaussian()));
        FloatArray f32 = new FloatArray(W_OFF + weights.length);
        ShortArray bf16 = new ShortArray(W_OFF + weights.length);
        for (int i = 0; i < weights.length; i++) {
            f32.set(W_OFF + i, weights[i]);
            bf16.set(W_OFF + i, Floats.floatToBf16(weights[i]));
        }
        for (int rows : new int[]{1, 5, 18}) {
            float[] x = new float[rows * IN];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            for (int kind = 0; kind < 4; kind++) {
                boolean half = kind % 2 == 1, item = kind >= 2;
                FloatArray a = new FloatArray(ARENA);
                for (int i = 0; i < x.length; i++) a.set(X + i, x[i]);
                float[] table = DeviceWeights.decodeTable();
                for (int i = 0; i < table.length; i++) a.set(TABLE_AT + i, table[i]);
                DeviceWeights.Precision p = DeviceWeights.Precision.BF16;
                IntArray ip = new IntArray(BASE + 24);
                int[] params = {X, OUT_AT + FIRST, rows, OUT, IN, W_OFF, STRIDE, TABLE_AT + p.tableOffset, p.mantissaBits,
                        p.mantissaMask(), p.exponentMask(), 1 << p.mantissaBits, p.tableSize(), OUT, 0, 0, 0};
                for (int i = 0; i < params.length; i++) ip.set(BASE + i, params[i]);
                KernelContext kc = new KernelContext();
                TaskGraph g = new TaskGraph("k").transferToDevice(DataTransferMode.EVERY_EXECUTION, a, ip);
                if (item && half) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, bf16).task("t", Kernels::matmulItemHalf, kc, a, bf16, ip, BASE);
                else if (item) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, f32).task("t", Kernels::matmulItem, kc, a, f32, ip, BASE);
                else if (half) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, bf16).task("t", Kernels::matmulHalf, kc, a, bf16, ip, BASE);
                else g.transferToDevice(DataTransferMode.FIRST_EXECUTION, f32).task("t", Kernels::matmul, kc, a, f32, ip, BASE);
                g.transferToHost(DataTransferMode.EVERY_EXECUTION, a);
                if (item) run(g, 64, (OUT * rows + 63) / 64 * 64);
                else run(g, Kernels.MATMUL_LOCAL, Kernels.matmulGroups(OUT, rows) * Kernels.MATMUL_LOCAL);
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < OUT; o++) {
                        double s = 0;
                        for (int i = 0; i < IN; i++) s += (double) x[r * IN + i] * weights[o * IN + i];
                        assertEquals(s, a.get(OUT_AT + FIRST + r * STRIDE + o), 1e-5 * Math.max(1, Math.abs(s)),
                                (half ? "bf16" : "f32") + (item ? " item" : " group") + " rows " + rows + " out[" + r + ", " + o + "]");
                    }
                }
                // nothing written outside the part's outputs
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < STRIDE; c++) {
                        if (c < FIRST || c >= FIRST + OUT) assertEquals(0f, a.get(OUT_AT + r * STRIDE + c), "outside at row " + r + " col " + c);
                    }
                }
            }
        }
    }

    @Test
    void fusedMatmulsSendEachSegmentToItsOwnBuffer() throws Exception {
        // W = three matrices of 7, 9 and 5 rows one after another (q/k/v-like); each output goes to its own buffer
        int[] widths = {7, 9, 5};
        int[] outs = {1000, 1400, 2200};
        Random random = new Random(3);
        float[] weights = new float[OUT * IN];
        for (int i = 0; i < weights.length; i++) weights[i] = Floats.bf16ToFloat(Floats.floatToBf16((float) random.nextGaussian()));
        ShortArray bf16 = new ShortArray(weights.length);
        for (int i = 0; i < weights.length; i++) bf16.set(i, Floats.floatToBf16(weights[i]));
        for (int rows : new int[]{1, 18}) {
            float[] x = new float[rows * IN];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            FloatArray a = new FloatArray(ARENA);
            for (int i = 0; i < x.length; i++) a.set(X + i, x[i]);
            float[] table = DeviceWeights.decodeTable();
            for (int i = 0; i < table.length; i++) a.set(TABLE_AT + i, table[i]);
            DeviceWeights.Precision p = DeviceWeights.Precision.BF16;
            IntArray ip = new IntArray(BASE + 24);
            int[] params = {X, outs[0], rows, OUT, IN, 0, widths[0], TABLE_AT + p.tableOffset, p.mantissaBits, p.mantissaMask(),
                    p.exponentMask(), 1 << p.mantissaBits, p.tableSize(), widths[0], outs[1], widths[1], outs[2]};
            for (int i = 0; i < params.length; i++) ip.set(BASE + i, params[i]);
            KernelContext kc = new KernelContext();
            TaskGraph g = new TaskGraph("f").transferToDevice(DataTransferMode.EVERY_EXECUTION, a, ip)
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, bf16).task("t", Kernels::matmulHalf, kc, a, bf16, ip, BASE)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, a);
            run(g, Kernels.MATMUL_LOCAL, Kernels.matmulGroups(OUT, rows) * Kernels.MATMUL_LOCAL);
            int o = 0;
            for (int seg = 0; seg < 3; seg++) {
                for (int c = 0; c < widths[seg]; c++, o++) {
                    for (int r = 0; r < rows; r++) {
                        double s = 0;
                        for (int i = 0; i < IN; i++) s += (double) x[r * IN + i] * weights[o * IN + i];
                        assertEquals(s, a.get(outs[seg] + r * widths[seg] + c), 1e-5 * Math.max(1, Math.abs(s)),
                                "rows " + rows + " segment " + seg + " [" + r + ", " + c + "]");
                    }
                }
            }
        }
    }

    @Test
    void embeddingRowsComeOutScaledFromBothPoolKinds() throws Exception {
        int d = 300, row = 7;
        float scale = 8f;
        float[] table = DeviceWeights.decodeTable();
        ShortArray bf16 = new ShortArray(10 * d);
        FloatArray f32 = new FloatArray(10 * d);
        for (int i = 0; i < 10 * d; i++) {
            float v = (i % 23 - 11) * 0.0173f;
            bf16.set(i, Floats.floatToBf16(v));
            f32.set(i, v);
        }
        for (boolean half : new boolean[]{false, true}) {
            for (int at : new int[]{row * d, -1}) {
                FloatArray a = new FloatArray(ARENA + d);
                for (int i = 0; i < table.length; i++) a.set(TABLE_AT + i, table[i]);
                DeviceWeights.Precision p = DeviceWeights.Precision.BF16;
                IntArray ip = new IntArray(BASE + 8);
                int[] params = {ARENA, at, d, TABLE_AT + p.tableOffset, p.mantissaBits, p.mantissaMask(), p.exponentMask(), 1 << p.mantissaBits};
                for (int i = 0; i < params.length; i++) ip.set(BASE + i, params[i]);
                FloatArray fp = new FloatArray(1);
                fp.set(0, scale);
                KernelContext kc = new KernelContext();
                TaskGraph g = new TaskGraph("e").transferToDevice(DataTransferMode.EVERY_EXECUTION, a, ip, fp);
                if (half) g.transferToDevice(DataTransferMode.FIRST_EXECUTION, bf16).task("t", Kernels::embedRowHalf, kc, a, bf16, ip, fp, BASE);
                else g.transferToDevice(DataTransferMode.FIRST_EXECUTION, f32).task("t", Kernels::embedRow, kc, a, f32, ip, fp, BASE);
                g.transferToHost(DataTransferMode.EVERY_EXECUTION, a);
                run(g, 64, 320);
                for (int i = 0; i < d; i++) {
                    float expected = at < 0 ? 0f : scale * (half ? Floats.bf16ToFloat(bf16.get(row * d + i)) : f32.get(row * d + i));
                    assertEquals(expected, a.get(ARENA + i), (half ? "bf16" : "f32") + " at " + at + " index " + i);
                }
            }
        }
    }

    @Test
    void attentionWithAndWithoutSplitsMatchesFloat64() throws Exception {
        int heads = 4, kvHeads = 2, hd = 20, p0 = 70, kvDim = kvHeads * hd;
        int qAt = 0, keysAt = 300, valuesAt = 3300, zAt = 6300, scratchAt = 6600;
        Random random = new Random(7);
        float[] k = new float[80 * kvDim], v = new float[80 * kvDim], q = new float[3 * heads * hd];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) random.nextGaussian();
            v[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
        float scale = 0.3f;
        for (int rows : new int[]{1, 3}) {
            for (int window : new int[]{50, 1000}) {
                for (float cap : new float[]{0f, 5f}) {
                    for (int splitKeys : rows == 1 ? new int[]{p0 + 1, 17} : new int[]{p0 + rows}) {
                        int visible = Math.min(p0 + 1, window);
                        int splits = rows == 1 ? (visible + splitKeys - 1) / splitKeys : 1;
                        FloatArray a = new FloatArray(7100);
                        for (int i = 0; i < rows * heads * hd; i++) a.set(qAt + i, q[i]);
                        for (int i = 0; i < (p0 + rows) * kvDim; i++) {
                            a.set(keysAt + i, k[i]);
                            a.set(valuesAt + i, v[i]);
                        }
                        IntArray ip = new IntArray(BASE + 16);
                        int[] params = {qAt, keysAt, valuesAt, zAt, rows, p0, heads, kvHeads, hd, window, splitKeys, splits, scratchAt};
                        for (int i = 0; i < params.length; i++) ip.set(BASE + i, params[i]);
                        FloatArray fp = new FloatArray(2);
                        fp.set(0, scale);
                        fp.set(1, cap);
                        KernelContext kc = new KernelContext();
                        TaskGraph g = new TaskGraph("a").transferToDevice(DataTransferMode.EVERY_EXECUTION, a, ip, fp)
                                .task("t", Kernels::attention, kc, a, ip, fp, BASE)
                                .task("c", Kernels::attentionCombine, kc, a, ip, BASE)
                                .transferToHost(DataTransferMode.EVERY_EXECUTION, a);
                        GridScheduler scheduler = new GridScheduler();
                        WorkerGrid1D attention = new WorkerGrid1D(heads * rows * splits * Kernels.ATT_GROUP);
                        attention.setLocalWork(Kernels.ATT_GROUP, 1, 1);
                        WorkerGrid1D combine = new WorkerGrid1D(heads * rows * Kernels.ATT_GROUP);
                        combine.setLocalWork(Kernels.ATT_GROUP, 1, 1);
                        scheduler.addWorkerGrid("a.t", attention);
                        scheduler.addWorkerGrid("a.c", combine);
                        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
                            TornadoBackend.exactMath(plan);
                            plan.withGridScheduler(scheduler).execute();
                        }
                        String what = "rows " + rows + " window " + window + " cap " + cap + " splits " + splits;
                        for (int t = 0; t < rows; t++) {
                            for (int h = 0; h < heads; h++) {
                                double[] z = reference(q, k, v, t, h, p0, heads, kvHeads, hd, window, scale, cap);
                                for (int i = 0; i < hd; i++) {
                                    assertEquals(z[i], a.get(zAt + t * heads * hd + h * hd + i), 2e-5 * Math.max(1, Math.abs(z[i])),
                                            what + " z[" + t + ", " + h + ", " + i + "]");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** Attention output of query t, head h in float64 (causal, sliding window, optional softcap). */
    private static double[] reference(float[] q, float[] k, float[] v, int t, int h, int p0, int heads, int kvHeads, int hd,
                                      int window, float scale, float cap) {
        int qi = p0 + t, lo = Math.max(0, qi - window + 1), kh = h / (heads / kvHeads), kvDim = kvHeads * hd;
        double[] s = new double[qi + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = lo; j <= qi; j++) {
            double dot = 0;
            for (int i = 0; i < hd; i++) dot += (double) q[t * heads * hd + h * hd + i] * k[j * kvDim + kh * hd + i];
            dot *= scale;
            if (cap > 0) dot = cap * Math.tanh(dot / cap);
            s[j] = dot;
            max = Math.max(max, dot);
        }
        double sum = 0;
        double[] z = new double[hd];
        for (int j = lo; j <= qi; j++) {
            double p = Math.exp(s[j] - max);
            sum += p;
            for (int i = 0; i < hd; i++) z[i] += p * v[j * kvDim + kh * hd + i];
        }
        for (int i = 0; i < hd; i++) z[i] /= sum;
        return z;
    }

    private static void run(TaskGraph g, int local, long global) throws Exception {
        WorkerGrid1D grid = new WorkerGrid1D(Math.toIntExact(global));
        grid.setLocalWork(local, 1, 1);
        GridScheduler scheduler = new GridScheduler(g.getTaskGraphName() + ".t", grid);
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            TornadoBackend.exactMath(plan);
            plan.withGridScheduler(scheduler).execute();
        }
    }
}
