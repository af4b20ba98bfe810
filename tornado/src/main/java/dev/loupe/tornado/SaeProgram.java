package dev.loupe.tornado;

import dev.loupe.sae.kernels.FeatureSink;
import dev.loupe.sae.kernels.SaeActivation;
import dev.loupe.sae.kernels.SaeEncoding;
import dev.loupe.sae.kernels.SaeKernels;
import dev.loupe.model.tensor.WeightTensor;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * One SAE encoder on the device: {@code W_enc}, {@code b_enc} and the thresholds uploaded once; per call the input
 * rows go down, {@code pre = x·W_enc + b} and (for JumpReLU and ReLU) a per-row compaction run there, and only the
 * compacted active features come back. A row with more than {@link #CAP} active features is read back densely.
 * TopK has no compaction kernel: its dense pre-activations come back and are selected on the host.
 */
final class SaeProgram implements AutoCloseable {
    static final int CAP = 256;
    private static final int LOCAL = 64;

    private final SaeEncoding encoding;
    private final int capacity;
    private final int dIn, dSae;
    private final boolean compact;
    private final FloatArray x, pre, out;
    private final IntArray ip = new IntArray(4);
    private final WorkerGrid1D encodeGrid = new WorkerGrid1D(LOCAL), compactGrid = new WorkerGrid1D(LOCAL);
    private final TornadoExecutionPlan plan;
    private final boolean profile;
    private long kernelNanos;

    SaeProgram(SaeEncoding e, int capacity, boolean profile) {
        this.encoding = e;
        this.capacity = capacity;
        this.dIn = e.dIn();
        this.dSae = e.dSae();
        this.profile = profile;
        this.compact = e.activation() instanceof SaeActivation.JumpRelu;
        WeightTensor enc = e.encoder();
        FloatArray w = new FloatArray(Math.toIntExact((long) enc.rows() * enc.cols()));
        float[] row = new float[enc.cols()];
        for (int r = 0; r < enc.rows(); r++) {
            enc.readRow(r, row, 0);
            for (int i = 0; i < row.length; i++) w.set(r * enc.cols() + i, row[i]);
        }
        FloatArray bias = new FloatArray(dSae);
        if (e.bias().length > 0) for (int i = 0; i < dSae; i++) bias.set(i, e.bias()[i]);
        float[] thr = compact ? ((SaeActivation.JumpRelu) e.activation()).threshold() : null;
        FloatArray threshold = new FloatArray(thr == null ? 1 : dSae);
        if (thr != null) for (int i = 0; i < dSae; i++) threshold.set(i, thr[i]);
        x = new FloatArray(Math.multiplyExact(capacity, dIn));
        pre = new FloatArray(Math.multiplyExact(capacity, dSae));
        out = new FloatArray(Math.multiplyExact(capacity, 1 + 2 * CAP));
        ip.set(1, dIn);
        ip.set(2, dSae);
        ip.set(3, e.transposed() ? 1 : 0);

        KernelContext kc = new KernelContext();
        IntArray cp = new IntArray(4);
        cp.set(1, dSae);
        cp.set(2, CAP);
        cp.set(3, thr != null ? 1 : 0);
        this.compactParams = cp;
        TaskGraph g = new TaskGraph("sae")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, w, bias, threshold)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, x, ip, cp)
                .task("encode", Kernels::saeEncode, kc, x, w, bias, pre, ip);
        if (compact) {
            g = g.task("compact", Kernels::saeCompact, kc, pre, threshold, out, cp)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
        }
        g = g.transferToHost(DataTransferMode.UNDER_DEMAND, pre);
        encodeGrid.setLocalWork(LOCAL, 1, 1);
        compactGrid.setLocalWork(LOCAL, 1, 1);
        GridScheduler scheduler = new GridScheduler("sae.encode", encodeGrid);
        scheduler.addWorkerGrid("sae.compact", compactGrid);
        plan = new TornadoExecutionPlan(g.snapshot()).withGridScheduler(scheduler);
        TornadoBackend.exactMath(plan);
        if (profile) plan.withProfiler(ProfilerMode.SILENT);
    }

    private final IntArray compactParams;

    boolean fits(SaeEncoding e, int rows) {
        return e.encoder() == encoding.encoder() && e.bias() == encoding.bias() && e.activation().equals(encoding.activation())
                && rows <= capacity;
    }

    void encode(float[] input, int rows, FeatureSink sink, SaeKernels host) {
        for (int i = 0; i < rows * dIn; i++) x.set(i, input[i]);
        ip.set(0, rows);
        compactParams.set(0, rows);
        encodeGrid.setGlobalWork(round((long) rows * dSae), 1, 1);
        compactGrid.setGlobalWork(round(rows), 1, 1);
        TornadoExecutionResult result = plan.execute();
        if (profile) kernelNanos += result.getProfilerResult().getDeviceKernelTime();
        if (!compact) {
            result.transferToHost(new DataRange(pre).withSize((long) rows * dSae));
            float[] dense = new float[rows * dSae];
            for (int i = 0; i < dense.length; i++) dense[i] = pre.get(i);
            host.activateSparse(encoding.activation(), dense, rows, dSae, new float[0], sink);
            return;
        }
        int stride = 1 + 2 * CAP;
        for (int r = 0; r < rows; r++) {
            int base = r * stride;
            int count = (int) out.get(base);
            if (count <= CAP) {
                for (int k = 0; k < count; k++) sink.add(r, (int) out.get(base + 1 + 2 * k), out.get(base + 2 + 2 * k));
            } else {
                result.transferToHost(new DataRange(pre).withOffset((long) r * dSae).withSize(dSae));
                float[] dense = new float[dSae];
                for (int i = 0; i < dSae; i++) dense[i] = pre.get(r * dSae + i);
                int row = r;
                host.activateSparse(encoding.activation(), dense, 1, dSae, new float[0],
                        (ignored, f, v) -> sink.add(row, f, v));
            }
        }
    }

    long takeKernelNanos() {
        long n = kernelNanos;
        kernelNanos = 0;
        return n;
    }

    private static long round(long work) { return Math.max(LOCAL, (work + LOCAL - 1) / LOCAL * LOCAL); }

    @Override
    public void close() {
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("TornadoVM backend: closing the SAE plan failed: " + e.getMessage(), e);
        }
    }
}
