package dev.loupe.tools.model;

import dev.loupe.model.cpu.CpuBackend;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * Measures the CPU kernels on Gemma 2 2B shapes with weights in a memory-mapped temporary file, as the model
 * sees them. Not a test: run it by hand after {@code mvn -B -ntp -DskipTests package}, e.g.
 * {@code java @bin/jvm.args -cp 'cli/target/lib/*' dev.loupe.tools.model.KernelBench [--threads 1,2] [--seconds 2]
 * [--dir /tmp] [--generation-step] [--formats F32,F16,Q8_0,Q4_0,Q4_K,Q5_K,Q6_K] [--formats-only] [--rounds 1]}.
 *
 * <p>{@code --formats-only} times only the storage formats on the MLP shape; {@code --rounds N} repeats those
 * timings N times, alternating the order of the formats from round to round, and ends with each format's median
 * over the rounds, so that formats measured on a busy machine are compared in the same sitting.
 *
 * <p>Single-row products cycle through enough copies of each matrix to exceed the caches, so GB/s is the
 * bandwidth from memory. {@code --generation-step} also maps a full 2B layer stack plus unembedding
 * (5.2 GB) and times every weight read of one generated token.
 */
public final class KernelBench {
    private static final long CACHE_DEFEAT_BYTES = 512L << 20;

    private record Shape(String label, int out, int in) {}

    private static final List<Shape> SHAPES = List.of(
            new Shape("mlp up/gate  [9216, 2304]", 9216, 2304),
            new Shape("mlp down     [2304, 9216]", 2304, 9216),
            new Shape("attn q       [2048, 2304]", 2048, 2304),
            new Shape("unembed    [256000, 2304]", 256000, 2304));

    private KernelBench() {}

    public static void main(String[] args) throws IOException {
        int[] threads = {1, 2};
        double seconds = 2;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        boolean generationStep = false, formatsOnly = false;
        int rounds = 1;
        DType[] formatTypes = {DType.F32, DType.F16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--generation-step" -> generationStep = true;
                case "--formats" -> formatTypes = Arrays.stream(args[++i].split(",")).map(DType::valueOf).toArray(DType[]::new);
                case "--formats-only" -> formatsOnly = true;
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: KernelBench [--threads 1,2] [--seconds 2] [--dir DIR] [--generation-step]"
                            + " [--formats F32,...] [--formats-only] [--rounds N]");
                    System.exit(2);
                }
            }
        }
        long t0 = System.nanoTime();
        CpuBackend.warmUp();
        System.out.printf(Locale.ROOT, "vector: %d-bit (%d floats); kernel warmup %.0f ms; best (median) of runs of >= %.1f s%n",
                CpuBackend.vectorBits(), CpuBackend.vectorBits() / Float.SIZE, (System.nanoTime() - t0) / 1e6, seconds / 5);
        try (Arena arena = Arena.ofShared()) {
            WeightFile file = new WeightFile(dir, arena);
            List<WeightTensor[]> copies = new ArrayList<>();
            for (Shape s : formatsOnly ? List.<Shape>of() : SHAPES) {
                long bytes = DType.BF16.bytesFor((long) s.out * s.in);
                int n = (int) Math.max(1, Math.min(8, CACHE_DEFEAT_BYTES / bytes));
                WeightTensor[] ws = new WeightTensor[n];
                for (int c = 0; c < n; c++) ws[c] = file.tensor(s.label, DType.BF16, s.out, s.in);
                copies.add(ws);
            }
            List<WeightTensor[]> formats = new ArrayList<>();
            for (DType type : formatTypes) {
                long bytes = type.bytesFor(9216L * 2304);
                WeightTensor[] ws = new WeightTensor[(int) Math.max(1, Math.min(8, CACHE_DEFEAT_BYTES / bytes))];
                for (int c = 0; c < ws.length; c++) ws[c] = file.tensor("mlp up/gate  [9216, 2304]", type, 9216, 2304);
                formats.add(ws);
            }
            WeightTensor enc = formatsOnly ? null : file.tensor("sae W_enc [2304, 16384]", DType.F32, 2304, 16384);
            for (int t : threads) {
                try (CpuBackend backend = new CpuBackend(t)) {
                    System.out.printf(Locale.ROOT, "%n== %d thread(s)%n", t);
                    for (int s = 0; s < copies.size(); s++) {
                        WeightTensor[] ws = copies.get(s);
                        for (int rows : new int[]{1, 128}) {
                            if (rows > 1 && SHAPES.get(s).out > 10_000) continue;
                            bench(SHAPES.get(s).label + " BF16 rows=" + rows, seconds, ws.length, rows, ws[0],
                                    (x, out, c) -> backend.matmul(ws[c], x, rows, out), false);
                        }
                    }
                    Map<String, List<double[]>> byFormat = new LinkedHashMap<>();
                    for (int round = 0; round < rounds; round++) {
                        if (rounds > 1) System.out.printf(Locale.ROOT, "-- round %d%n", round + 1);
                        for (int i = 0; i < formats.size(); i++) {
                            WeightTensor[] ws = formats.get(round % 2 == 0 ? i : formats.size() - 1 - i);
                            for (int rows : new int[]{1, 128}) {
                                String label = ws[0].name() + " " + ws[0].dtype() + " rows=" + rows;
                                byFormat.computeIfAbsent(label, k -> new ArrayList<>()).add(bench(label, seconds, ws.length, rows,
                                        ws[0], (x, out, c) -> backend.matmul(ws[c], x, rows, out), false));
                            }
                        }
                    }
                    if (rounds > 1) {
                        System.out.printf(Locale.ROOT, "-- medians over %d rounds (of each round's median run)%n", rounds);
                        for (var e : byFormat.entrySet()) {
                            double[] gflop = e.getValue().stream().mapToDouble(r -> r[0]).sorted().toArray();
                            double[] gbs = e.getValue().stream().mapToDouble(r -> r[1]).sorted().toArray();
                            System.out.printf(Locale.ROOT, "%-48s %7.1f GFLOP/s  %6.1f GB/s  (GB/s range %.1f-%.1f)%n", e.getKey(),
                                    gflop[gflop.length / 2], gbs[gbs.length / 2], gbs[0], gbs[gbs.length - 1]);
                        }
                    }
                    if (formatsOnly) continue;
                    for (int rows : new int[]{1, 256}) {
                        bench("sae W_enc [2304, 16384] F32 Kn rows=" + rows, seconds, 1, rows, enc,
                                (x, out, c) -> backend.matmulKn(enc, x, 0, rows, out, 0), true);
                    }
                    dispatch(backend);
                    if (generationStep) generationStep(backend, dir, arena, seconds);
                }
            }
        }
    }

    private interface Op {
        void run(float[] x, float[] out, int copy);
    }

    /** Prints the best and median of five timed runs; returns the median's {GFLOP/s, GB/s}. */
    private static double[] bench(String label, double seconds, int copies, int rows, WeightTensor w, Op op, boolean kn) {
        int in = kn ? w.rows() : w.cols(), out = kn ? w.cols() : w.rows();
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1000) / 1000f - 0.5f;
        float[] y = new float[rows * out];
        double flop = 2.0 * rows * in * out;
        double bytes = w.data().byteSize();
        List<Double> perCall = new ArrayList<>();
        int copy = 0;
        for (int warm = 0; warm < 2 * copies; warm++) op.run(x, y, copy++ % copies);
        for (int rep = 0; rep < 5; rep++) {
            long calls = 0, t0 = System.nanoTime(), t1;
            do {
                op.run(x, y, copy++ % copies);
                calls++;
                t1 = System.nanoTime();
            } while (t1 - t0 < seconds * 1e9 / 5);
            perCall.add((t1 - t0) / 1e9 / calls);
        }
        perCall.sort(null);
        double best = perCall.getFirst(), median = perCall.get(perCall.size() / 2);
        System.out.printf(Locale.ROOT, "%-48s %9.3f ms  %7.1f GFLOP/s (%5.1f)  %6.1f GB/s (%5.1f)%n", label, best * 1e3,
                flop / best / 1e9, flop / median / 1e9, bytes / best / 1e9, bytes / median / 1e9);
        return new double[]{flop / median / 1e9, bytes / median / 1e9};
    }

    /** Round trip of an empty parallelFor, back to back (workers spinning) and after a pause (workers parked). */
    private static void dispatch(CpuBackend backend) {
        int[] sink = new int[backend.threads()];
        double hot = Double.MAX_VALUE, cold = Double.MAX_VALUE;
        for (int rep = 0; rep < 5; rep++) {
            int n = 20_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) backend.parallelFor(sink.length, j -> sink[j]++);
            hot = Math.min(hot, (System.nanoTime() - t0) / 1e3 / n);
            for (int i = 0; i < 20; i++) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long t1 = System.nanoTime();
                backend.parallelFor(sink.length, j -> sink[j]++);
                cold = Math.min(cold, (System.nanoTime() - t1) / 1e3);
            }
        }
        System.out.printf(Locale.ROOT, "%-48s %6.2f µs back to back, %6.2f µs after a 1 ms pause%n",
                "parallelFor(" + sink.length + ") dispatch", hot, cold);
    }

    /** Every weight matmul of one generated token of Gemma 2 2B (26 layers + tied unembedding), BF16, distinct memory. */
    private static void generationStep(CpuBackend backend, Path dir, Arena arena, double seconds) throws IOException {
        WeightFile file = new WeightFile(dir, arena);
        int d = 2304, ff = 9216, q = 2048, kv = 1024;
        List<WeightTensor> step = new ArrayList<>();
        for (int l = 0; l < 26; l++) {
            step.add(file.tensor("q", DType.BF16, q, d));
            step.add(file.tensor("k", DType.BF16, kv, d));
            step.add(file.tensor("v", DType.BF16, kv, d));
            step.add(file.tensor("o", DType.BF16, d, q));
            step.add(file.tensor("gate", DType.BF16, ff, d));
            step.add(file.tensor("up", DType.BF16, ff, d));
            step.add(file.tensor("down", DType.BF16, d, ff));
        }
        step.add(file.tensor("unembed", DType.BF16, 256000, d));
        float[] x = new float[ff];
        Arrays.fill(x, 0.01f);
        float[] y = new float[256000];
        long bytes = step.stream().mapToLong(w -> w.data().byteSize()).sum();
        for (WeightTensor w : step) backend.matmul(w, x, 1, y);
        double best = Double.MAX_VALUE;
        long end = System.nanoTime() + (long) (seconds * 3e9);
        do {
            long t0 = System.nanoTime();
            for (WeightTensor w : step) backend.matmul(w, x, 1, y);
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        } while (System.nanoTime() < end);
        System.out.printf(Locale.ROOT, "%-48s %9.3f ms  %6.1f GB/s  -> %.1f tokens/s (matmuls only)%n",
                "generation step (" + step.size() + " BF16 matrices, " + bytes / 1_000_000 + " MB)", best * 1e3,
                bytes / best / 1e9, 1 / best);
    }

    /** Weights appended to a temporary file that is deleted as soon as it is mapped. */
    private static final class WeightFile {
        private final Path dir;
        private final Arena arena;

        private long seed = 0x9e3779b97f4a7c15L;

        /** Uniform values in [-0.05, 0.05). */
        private float next() {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            return (int) (seed >>> 40) * 0x1p-24f * 0.1f - 0.05f;
        }

        /** One storage unit of {@code type}: a value, or a quantization block with a plausible scale. */
        private void putBlock(ByteBuffer buf, DType type) {
            switch (type) {
                case F32 -> buf.putFloat(next());
                case F16 -> buf.putShort(Float.floatToFloat16(next()));
                case BF16 -> buf.putShort((short) (Float.floatToRawIntBits(next()) >>> 16));
                case Q8_0, Q4_0 -> {
                    buf.putShort(Float.floatToFloat16(0.001f + Math.abs(next()) * 0.01f));
                    for (int j = 2; j < type.blockBytes(); j++) buf.put((byte) (next() * 5000));
                }
                case Q4_K, Q5_K -> {
                    buf.putShort(Float.floatToFloat16(0.0001f + Math.abs(next()) * 0.001f));
                    buf.putShort(Float.floatToFloat16(0.0001f + Math.abs(next()) * 0.001f));
                    for (int j = 4; j < type.blockBytes(); j++) buf.put((byte) (next() * 5000));
                }
                case Q6_K -> {
                    for (int j = 0; j < type.blockBytes() - 2; j++) buf.put((byte) (next() * 5000));
                    buf.putShort(Float.floatToFloat16(0.0001f + Math.abs(next()) * 0.001f));
                }
            }
        }

        WeightFile(Path dir, Arena arena) {
            this.dir = dir;
            this.arena = arena;
        }

        WeightTensor tensor(String name, DType type, int rows, int cols) throws IOException {
            long n = (long) rows * cols;
            long size = type.bytesFor(n);
            Path path = Files.createTempFile(dir, "loupe-bench", ".bin");
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
                int unit = type.blockBytes();
                long written = 0;
                while (written < size) {
                    buf.clear();
                    int chunk = (int) Math.min(buf.capacity() / unit * unit, size - written);
                    while (buf.position() < chunk) putBlock(buf, type);
                    buf.flip();
                    while (buf.hasRemaining()) written += ch.write(buf, written);
                }
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new WeightTensor(name, type, new long[]{rows, cols}, seg, path);
            } finally {
                Files.deleteIfExists(path);
            }
        }
    }
}
