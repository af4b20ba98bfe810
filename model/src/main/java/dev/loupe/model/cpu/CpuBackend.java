package dev.loupe.model.cpu;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.tensor.WeightTensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * The Vector API backend: the activation operations of {@link HeapBackend} plus these matrix products. Weights are read in their stored precision straight from their (memory-mapped)
 * segments: one activation row is a bandwidth-bound matrix-vector product ({@link MatVec}), many rows a
 * blocked matrix-matrix product that decodes each weight once ({@link PromptMatMul}, {@link KnMatMul}).
 *
 * <p>Threads: a persistent pool of {@code threads − 1} daemon workers plus the calling thread. A backend may
 * be shared: kernel calls and {@link #parallelFor} jobs from different threads are serialized (each holds the
 * pool for its duration), so one forward pass at a time gets the full speed. A call made from inside a
 * {@code parallelFor} body runs serially on that thread with its own scratch. Scratch buffers (packed
 * activations, decoded weight tiles, accumulators) belong to the backend and only grow.
 *
 * <p>Weights should be mapped in a shared, global or automatic arena so that the workers can read them;
 * weights in a thread-confined arena are processed serially by their owner thread. {@code x} and {@code out}
 * must not overlap.
 *
 * <p>The first backend starts a background warmup that gets every kernel compiled before real shapes reach
 * it ({@link KernelWarmup}); the first kernel call waits for it (about a second, usually hidden by loading).
 */
public final class CpuBackend extends HeapBackend {
    private final WorkerPool pool;
    private final Scratch scratch;

    public CpuBackend() { this(Runtime.getRuntime().availableProcessors()); }

    public CpuBackend(int threads) {
        if (threads < 1) throw new BadInputException("CPU backend threads must be at least 1, got " + threads);
        KernelWarmup.start();
        pool = new WorkerPool(threads);
        scratch = new Scratch(threads);
    }

    /**
     * Compiles every kernel now and returns when that is done. A backend otherwise starts this in the background and its
     * first kernel call waits for it; benchmarks call this first to time the warmup apart from the kernels.
     */
    public static void warmUp() {
        KernelWarmup.start();
        KernelWarmup.await();
    }

    /** The float vector width the kernels use, in bits: the machine's preferred width, at most 512. */
    public static int vectorBits() { return Vectors.F.vectorBitSize(); }

    @Override
    public void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int outDim = w.rows(), inDim = w.cols();
        if (nothingToCompute("matmul", w, inDim, outDim, x, xOff, rows, out, outOff)) return;
        RowKernels kernels = RowKernels.of(w.dtype());
        execute(w, (par, s) -> {
            if (rows == 1) MatVec.run(par, s, kernels, w.data(), outDim, inDim, x, xOff, out, outOff);
            else PromptMatMul.run(par, s, kernels, w.data(), outDim, inDim, x, xOff, rows, out, outOff);
        });
    }

    /** One row: a single pass over all the matrices ({@link MatVec#runEach}); more rows: one blocked product each. */
    @Override
    public void matmulEach(WeightTensor[] ws, ActivationBuffer x, int rows, ActivationBuffer[] outs) {
        if (ws.length != outs.length) throw new IllegalArgumentException("matmulEach: " + ws.length + " weights but " + outs.length + " outputs");
        float[][] outArrays = new float[outs.length][];
        for (int j = 0; j < outs.length; j++) outArrays[j] = array(outs[j]);
        matmulEachArrays(ws, array(x), rows, outArrays);
    }

    private void matmulEachArrays(WeightTensor[] ws, float[] x, int rows, float[][] outs) {
        if (rows != 1 || ws.length < 2) {
            for (int j = 0; j < ws.length; j++) matmul(ws[j], x, 0, rows, outs[j], 0);
            return;
        }
        int inDim = ws[0].cols();
        RowKernels[] kernels = new RowKernels[ws.length];
        MemorySegment[] data = new MemorySegment[ws.length];
        int[] outDims = new int[ws.length];
        boolean readable = true;
        for (int j = 0; j < ws.length; j++) {
            WeightTensor w = ws[j];
            if (w.rank() != 2 || w.cols() != inDim) {
                throw new IllegalArgumentException("matmulEach: " + w.describe() + " has shape " + Arrays.toString(w.shape())
                        + ", expected a matrix of " + inDim + " columns like " + ws[0].describe());
            }
            if (nothingToCompute("matmulEach", w, inDim, w.rows(), x, 0, 1, outs[j], 0)) {
                for (int i = 0; i < ws.length; i++) matmul(ws[i], x, 0, rows, outs[i], 0);
                return;
            }
            kernels[j] = RowKernels.of(w.dtype());
            data[j] = w.data();
            outDims[j] = w.rows();
            readable &= pool.canRead(data[j]);
        }
        KernelWarmup.await();
        if (pool.isInside() || !readable) {
            MatVec.runEach(Parallel.INLINE, new Scratch(1), kernels, data, outDims, inDim, x, 0, outs);
            return;
        }
        pool.lock();
        try {
            MatVec.runEach(pool, scratch, kernels, data, outDims, inDim, x, 0, outs);
        } finally {
            pool.unlock();
        }
    }

    @Override
    public void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) {
        int inDim = w.rows(), outDim = w.cols();
        if (nothingToCompute("matmulKn", w, inDim, outDim, x, xOff, rows, out, outOff)) return;
        RowKernels kernels = RowKernels.of(w.dtype());
        execute(w, (par, s) -> {
            if (rows < PanelKernels.MR) KnMatVec.run(par, s, kernels, w.data(), inDim, outDim, x, xOff, rows, out, outOff);
            else KnMatMul.run(par, s, kernels, w.data(), inDim, outDim, x, xOff, rows, out, outOff);
        });
    }

    @Override
    public void parallelFor(int count, IntConsumer body) {
        if (count <= 0) return;
        int grain = Math.max(1, count / (4 * pool.slots()));
        pool.run(count, grain, (start, end, slot) -> {
            for (int i = start; i < end; i++) body.accept(i);
        });
    }

    @Override
    public int threads() { return pool.slots(); }

    @Override
    public String name() { return "cpu"; }

    @Override
    public void close() { pool.close(); }

    private interface Kernel {
        void run(Parallel par, Scratch scratch);
    }

    /**
     * Runs a kernel on the pool, or serially on this thread when called from inside a pool job or when the
     * weights live in a thread-confined segment that the workers may not read.
     */
    private void execute(WeightTensor w, Kernel kernel) {
        KernelWarmup.await();
        if (pool.isInside() || !pool.canRead(w.data())) {
            kernel.run(Parallel.INLINE, new Scratch(1));
            return;
        }
        pool.lock();
        try {
            kernel.run(pool, scratch);
        } finally {
            pool.unlock();
        }
    }

    /**
     * Checks the operands of a product of {@code rows} inputs of width {@code inDim} into outputs of width
     * {@code outDim}; true when there is no arithmetic to do (empty shapes; an empty sum writes zeros).
     */
    private static boolean nothingToCompute(String op, WeightTensor w, int inDim, int outDim, float[] x, int xOff, int rows,
                                            float[] out, int outOff) {
        requireMatrix(op, w);
        requireRows(op, w, "x", x, xOff, rows, inDim);
        requireRows(op, w, "out", out, outOff, rows, outDim);
        if (rows == 0 || outDim == 0) return true;
        if (inDim == 0) {
            Arrays.fill(out, outOff, outOff + rows * outDim, 0f);
            return true;
        }
        return false;
    }

    private static void requireMatrix(String op, WeightTensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException(op + ": " + w.describe() + " has shape " + Arrays.toString(w.shape())
                    + ", expected a matrix");
        }
    }

    private static void requireRows(String op, WeightTensor w, String what, float[] a, int off, int rows, int width) {
        if (rows < 0) throw new IllegalArgumentException(op + ": negative row count " + rows + " for " + w.describe());
        long need = (long) rows * width;
        if (off < 0 || off + need > a.length) {
            throw new IllegalArgumentException(op + ": " + what + " needs " + rows + " × " + width + " floats from offset "
                    + off + " but has " + a.length + " (" + w.describe() + ")");
        }
    }
}
