package dev.loupe.model.cpu;

import dev.loupe.model.tensor.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Gets every kernel compiled by C2 through ordinary calls before real work reaches it.
 *
 * <p>Why: a kernel's first call on real shapes runs a long loop with vector accumulators in the interpreter,
 * and HotSpot then compiles that loop on-stack (OSR). An OSR compilation entered with vector values live may
 * lack the type information it needs to keep them in registers; the result boxes every vector operation
 * (about 100× slower), and was seen to stay in use for a whole run. Calling each kernel a few thousand times
 * on small shapes triggers normal compilation before any loop has run often enough for OSR. The shapes are
 * not tiny, because C2 sizes loop unrolling from the profiled trip counts: loops that ran once or twice per
 * call during warmup compiled to code two to three times slower. The weights live in a memory-mapped file,
 * as real weights do, so the type profiles match.
 *
 * <p>This takes about a second of one core (the first calls run interpreted), so it starts in the background
 * when the first backend is created, overlapping model loading, and the first kernel call waits for it.
 */
final class KernelWarmup {
    private static final int CALLS = 3000;
    /** Prompt rows: one full panel and a ragged one. */
    private static final int PROMPT_ROWS = PromptMatMul.PANEL + 6;
    private static final long MAX_NANOS = 3_000_000_000L;
    private static Thread thread;
    private static volatile boolean done;
    private static volatile Throwable failure;

    private KernelWarmup() {}

    /** Starts the warmup once per JVM. */
    static synchronized void start() {
        if (thread != null) return;
        thread = new Thread(() -> {
            try (Arena arena = Arena.ofShared()) {
                run(arena);
            } catch (Throwable t) {
                failure = t;
            } finally {
                done = true;
            }
        }, "loupe-kernel-warmup");
        thread.setDaemon(true);
        thread.start();
    }

    /** Returns once the warmup has finished (at once after the first time); a failed warmup is a bug in a kernel. */
    static void await() {
        if (done) {
            if (failure != null) throw new IllegalStateException("CPU kernel warmup failed", failure);
            return;
        }
        start();
        Thread t;
        synchronized (KernelWarmup.class) {
            t = thread;
        }
        boolean interrupted = false;
        while (!done) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure != null) throw new IllegalStateException("CPU kernel warmup failed", failure);
    }

    private static void run(Arena arena) {
        // Quantized rows of four 32-value blocks, or of two 256-value k-quant super-blocks (so that the loop over
        // super-blocks runs more than once per row, as it does on real shapes).
        int quantCols = 128, superBlockCols = 512, floatCols = 99, rows = 35;
        DType[] types = DType.values();
        MemorySegment[] w = new MemorySegment[types.length];
        int[] cols = new int[types.length];
        long total = 0;
        int maxCols = 0;
        for (int t = 0; t < types.length; t++) {
            cols[t] = !types[t].quantized() ? floatCols : types[t].blockSize() > quantCols ? superBlockCols : quantCols;
            total += types[t].bytesFor((long) rows * cols[t]);
            maxCols = Math.max(maxCols, cols[t]);
        }
        MemorySegment all = weights(arena, total);
        long at = 0;
        for (int t = 0; t < types.length; t++) {
            long size = types[t].bytesFor((long) rows * cols[t]);
            w[t] = all.asSlice(at, size);
            at += size;
        }
        float[] x = new float[PROMPT_ROWS * maxCols];
        for (int i = 0; i < x.length; i++) x[i] = (i % 7) * 0.25f - 0.75f;
        float[] out = new float[PROMPT_ROWS * Math.max(maxCols, rows)];
        float[] a = new float[PanelKernels.MR * 32], b = new float[32 * 4 * Vectors.L], c = new float[PanelKernels.MR * 4 * Vectors.L];
        Scratch scratch = new Scratch(1);
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime(), lastJit = -1, quietSince = start;
        for (int call = 0; ; call++) {
            for (int t = 0; t < types.length; t++) {
                RowKernels k = RowKernels.of(types[t]);
                MatVec.run(Parallel.INLINE, scratch, k, w[t], rows, cols[t], x, 0, out, 0);
                k.decode(w[t], cols[t], call % rows, 0, cols[t], out, 0);
                // The multi-row paths share everything but decode (called above every time), so the wider
                // super-block types take them less often, keeping the warmup short.
                if (call % (cols[t] > quantCols ? 32 : 8) == 0) {
                    MatVec.runEach(Parallel.INLINE, scratch, new RowKernels[]{k, k}, new MemorySegment[]{w[t], w[t]},
                            new int[]{rows, rows}, cols[t], x, 0, new float[][]{out, out});
                    PromptMatMul.run(Parallel.INLINE, scratch, k, w[t], rows, cols[t], x, 0, PROMPT_ROWS, out, 0);
                    KnMatMul.run(Parallel.INLINE, scratch, k, w[t], rows, cols[t], x, 0, 4 * PanelKernels.MR + 1, out, 0);
                    KnMatVec.run(Parallel.INLINE, scratch, k, w[t], rows, cols[t], x, 0, 2, out, 0);
                }
            }
            PanelKernels.mul6x4(a, 0, 32, b, 0, 4 * Vectors.L, 32, c, 0, 4 * Vectors.L);
            PanelKernels.mul6x2(a, 0, 32, b, 0, 4 * Vectors.L, 32, c, 0, 4 * Vectors.L);
            PanelKernels.mul6x1(a, 0, 32, b, 0, 4 * Vectors.L, 32, c, 0, 4 * Vectors.L);
            if (call < CALLS) continue;
            // Then keep going until the JIT has been idle for a while (its queue has drained), within a bound.
            long now = System.nanoTime();
            if (!timed || now - start > MAX_NANOS) return;
            long jitTime = jit.getTotalCompilationTime();
            if (jitTime != lastJit) {
                lastJit = jitTime;
                quietSince = now;
            } else if (now - quietSince > 30_000_000L) {
                return;
            }
        }
    }

    /** A zero-filled, memory-mapped scratch file of {@code size} bytes (deleted at once), or native memory if none can be made. */
    private static MemorySegment weights(Arena arena, long size) {
        try {
            Path file = Files.createTempFile("loupe-warmup", ".bin");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.truncate(0);
                ch.write(java.nio.ByteBuffer.allocate((int) size), 0);
                return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException | UnsupportedOperationException e) {
            return arena.allocate(size, 64);
        }
    }
}
