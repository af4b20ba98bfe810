package dev.loupe.tornado;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.backend.RegionAllocator;
import dev.loupe.model.backend.RotaryTable;
import dev.loupe.model.tensor.WeightTensor;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The forward pass and SAE encoding on a TornadoVM device (OpenCL or PTX), accumulating in FP32.
 *
 * <p>{@link #prepare} uploads every weight once: matrices into a few pools ({@link DeviceWeights}: 16-bit
 * checkpoints stay 16-bit, offsets travel as parameters, so one compiled matmul kernel serves every layer), norm
 * vectors into one array. Activations and the KV cache live in one device arena
 * that never comes back as a whole: every operation is a task graph of one execution plan that takes the arena from
 * the graph before it ({@code consumeFromDevice}) and leaves it there ({@code persistOnDevice}); offsets and shapes
 * travel in a small parameter array. A buffer crosses to the host only when {@link ActivationBuffer#toHost()} is
 * called (a hook, the logits), as a partial copy of its region, and goes back through a staging array when a hook
 * has written it.
 *
 * <p>SAE encoders get a plan of their own ({@link TornadoSaeKernels}, the sae module's kernels for this backend).
 * The heap-array products ({@link #matmul(WeightTensor, float[], int, int, float[], int)}) run on a CPU backend.
 */
public final class TornadoBackend implements Backend {
    private static final int LOCAL = 64;
    /**
     * Staging arrays for host-to-device copies, smallest first. A graph sends its whole staging array every time,
     * so a generation step's small uploads (one embedding row, one RoPE row) go through a 16 KB one rather than
     * the 4 MB one that prompts and hook write-backs need.
     */
    private static final int[] STAGE_FLOATS = {1 << 12, 1 << 16, 1 << 20};

    private final Backend host;
    private final int arenaFloats;
    private final boolean profile;
    private final DeviceWeights.Policy weightPolicy;
    private final long poolBytes;

    // ---- the model program (built by prepare) ----
    private FloatArray arena;
    private final FloatArray[] stages = new FloatArray[STAGE_FLOATS.length];
    private final IntArray ip = new IntArray(16);
    private final FloatArray fp = new FloatArray(4);
    private FloatArray vectors;
    private final Map<float[], Integer> vectorOffsets = new IdentityHashMap<>();
    private DeviceWeights weights;
    /** Arena offset of the 16-bit decode table ({@link DeviceWeights#decodeTable()}). */
    private int decodeTableAt;
    private final Map<String, Integer> graphIndex = new LinkedHashMap<>();
    private final Map<String, WorkerGrid> grids = new LinkedHashMap<>();
    private TornadoExecutionPlan plan;
    private TornadoExecutionResult lastResult;
    private long kernelNanos;
    private long launches;
    /** Device kernel time per operation (graph name), when profiling. */
    private final Map<String, Long> opNanos = new LinkedHashMap<>();
    private RegionAllocator regions;

    private RotaryTable lastTable;
    private DeviceBuffer lastTableBuffer;

    /** What closes with this backend besides its plan: the SAE kernels' device programs. */
    private final List<AutoCloseable> attached = new ArrayList<>();

    /**
     * @param threads     host threads for the CPU work (TopK, sparse decode, heap products)
     * @param arenaFloats device arena for activations and KV cache, in floats
     * @param profile     collect device kernel times ({@link #deviceKernelNanos()})
     */
    public TornadoBackend(int threads, int arenaFloats, boolean profile) {
        this(threads, arenaFloats, profile, DeviceWeights.Policy.fromProperty(), poolBytesFromProperty());
    }

    /**
     * @param weightPolicy the precision of weight matrices on the device
     * @param poolBytes    the largest device array of weights; bigger matrices are split by rows
     */
    TornadoBackend(int threads, int arenaFloats, boolean profile, DeviceWeights.Policy weightPolicy, long poolBytes) {
        this.host = Backends.byName(Backends.CPU, threads);
        this.arenaFloats = arenaFloats;
        this.profile = profile;
        this.weightPolicy = weightPolicy;
        this.poolBytes = poolBytes;
    }

    /** {@code -Dloupe.tornado.pool.mb} (default 1024): device allocators cap a single array's size. */
    private static long poolBytesFromProperty() {
        int mb = Integer.getInteger("loupe.tornado.pool.mb", (int) (DeviceWeights.DEFAULT_POOL_BYTES >> 20));
        if (mb < 1 || mb > 8191) throw new IllegalArgumentException("-Dloupe.tornado.pool.mb must be in [1, 8191], got " + mb);
        return (long) mb << 20;
    }

    // ---- weights ----

    @Override
    public synchronized void prepare(List<WeightTensor> matrices, List<float[]> vectorList) {
        if (plan != null) throw new IllegalStateException("the TornadoVM backend already holds a model; make one backend per model");
        int total = 0;
        for (float[] v : vectorList) if (!vectorOffsets.containsKey(v)) { vectorOffsets.put(v, total); total += v.length; }
        vectors = new FloatArray(Math.max(1, total));
        for (Map.Entry<float[], Integer> e : vectorOffsets.entrySet()) {
            for (int i = 0; i < e.getKey().length; i++) vectors.set(e.getValue() + i, e.getKey()[i]);
        }
        weights = new DeviceWeights(matrices, weightPolicy, poolBytes);

        arena = new FloatArray(arenaFloats);
        regions = new RegionAllocator(arenaFloats);
        List<ImmutableTaskGraph> graphs = new ArrayList<>();
        KernelContext kc = new KernelContext();
        graphs.add(new TaskGraph("init")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, arena)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, ip)
                .task("t", Kernels::zero, kc, arena, ip, 0)
                .persistOnDevice(arena).snapshot());
        register("init");
        graphs.add(op("zero").task("t", Kernels::zero, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        for (int s = 0; s < STAGE_FLOATS.length; s++) {
            stages[s] = new FloatArray(STAGE_FLOATS[s]);
            graphs.add(op("upload" + s).transferToDevice(DataTransferMode.EVERY_EXECUTION, stages[s])
                    .task("t", Kernels::upload, kc, arena, stages[s], ip, 0).persistOnDevice(arena).snapshot());
        }
        graphs.add(op("copy").task("t", Kernels::copy, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("add").task("t", Kernels::add, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("softcap").task("t", Kernels::softcap, kc, arena, ip, fp, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("geglu").task("t", Kernels::geglu, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("rmsnorm", Kernels.NORM_GROUP).transferToDevice(DataTransferMode.FIRST_EXECUTION, vectors)
                .task("t", Kernels::rmsNorm, kc, arena, vectors, ip, fp, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("rope").task("t", Kernels::rope, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("attention").task("t", Kernels::attention, kc, arena, ip, fp, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("scores").task("t", Kernels::attentionScores, kc, arena, ip, fp, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("softmax").task("t", Kernels::attentionSoftmax, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        graphs.add(op("mix").task("t", Kernels::attentionMix, kc, arena, ip, 0).persistOnDevice(arena).snapshot());
        // per pool one matmul graph: one kernel serves decoding (a work group per output) and prefill (tiles)
        List<DeviceWeights.Pool> pools = weights.pools();
        for (int p = 0; p < pools.size(); p++) {
            TaskGraph g = op("matmul" + p, Kernels.MATMUL_LOCAL);
            switch (pools.get(p)) {
                case DeviceWeights.FloatPool(FloatArray pool) -> g.transferToDevice(DataTransferMode.FIRST_EXECUTION, pool)
                        .task("t", Kernels::matmul, kc, arena, pool, ip, 0);
                case DeviceWeights.HalfPool(ShortArray pool) -> g.transferToDevice(DataTransferMode.FIRST_EXECUTION, pool)
                        .task("t", Kernels::matmulHalf, kc, arena, pool, ip, 0);
            }
            graphs.add(g.persistOnDevice(arena).snapshot());
        }
        GridScheduler scheduler = new GridScheduler();
        for (Map.Entry<String, WorkerGrid> g : grids.entrySet()) scheduler.addWorkerGrid(g.getKey() + ".t", g.getValue());
        plan = new TornadoExecutionPlan(graphs.toArray(ImmutableTaskGraph[]::new)).withGridScheduler(scheduler);
        exactMath(plan);
        if (profile) plan.withProfiler(ProfilerMode.SILENT);
        ip.set(0, 0);
        ip.set(1, 0);
        launch("init", 1);
        float[] table = DeviceWeights.decodeTable();
        decodeTableAt = claim(table.length);
        upload(table, decodeTableAt);
    }

    /**
     * TornadoVM compiles OpenCL kernels with {@code -cl-fast-relaxed-math} by default; its approximate exp and tanh
     * put logits 1e-4 away from the CPU's. Interpretability wants the same numbers on every backend.
     */
    static void exactMath(TornadoExecutionPlan plan) {
        plan.withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
    }

    /** A graph that continues from the arena the previous graph left on the device; registers its grid. */
    private TaskGraph op(String name) {
        return op(name, LOCAL);
    }

    /** A graph whose kernel runs work groups of {@code local} threads ({@link #launchGroups}). */
    private TaskGraph op(String name, int local) {
        WorkerGrid1D grid = new WorkerGrid1D(local);
        grid.setLocalWork(local, 1, 1);
        register(name, grid);
        return continuing(name);
    }

    private TaskGraph continuing(String name) {
        return new TaskGraph(name)
                .consumeFromDevice(arena)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, ip, fp);
    }

    private void register(String name) {
        WorkerGrid1D grid = new WorkerGrid1D(LOCAL);
        grid.setLocalWork(LOCAL, 1, 1);
        register(name, grid);
    }

    private void register(String name, WorkerGrid grid) {
        graphIndex.put(name, graphIndex.size());
        grids.put(name, grid);
    }

    // ---- launching and moving data ----

    /** Runs a graph over {@code work} work items, rounded up to whole work groups. */
    private void launch(String graph, long work) {
        if (work <= 0) return;
        WorkerGrid grid = grids.get(graph);
        long local = grid.getLocalWork()[0];
        grid.setGlobalWork((work + local - 1) / local * local, 1, 1);
        execute(graph);
    }

    /** Runs a graph over {@code groups} whole work groups (one per output of a reduction). */
    private void launchGroups(String graph, long groups) {
        if (groups <= 0) return;
        WorkerGrid grid = grids.get(graph);
        grid.setGlobalWork(groups * grid.getLocalWork()[0], 1, 1);
        execute(graph);
    }

    private void execute(String graph) {
        lastResult = plan.withGraph(graphIndex.get(graph)).execute();
        launches++;
        if (profile) {
            long ns = lastResult.getProfilerResult().getDeviceKernelTime();
            kernelNanos += ns;
            opNanos.merge(graph.replaceFirst("\\d+$", ""), ns, Long::sum);
        }
    }

    private void requirePrepared() {
        if (plan == null) throw new IllegalStateException("the TornadoVM backend runs a model's operations only after prepare() (Model.load does it)");
    }

    /** A zeroed region of the arena for {@code size} floats; it stays claimed until {@link #release(int, int)}. */
    synchronized int claim(int size) {
        requirePrepared();
        int at = regions.claim(size);
        if (at < 0) {
            throw new IllegalStateException("TornadoVM backend: the device arena of " + (arenaFloats >> 18) + " MB has no free region of "
                    + ((long) size * 4 >> 10) + " KB (" + (regions.live() >> 18) + " MB in use, largest free " + ((long) regions.largestFree() * 4 >> 10)
                    + " KB); close sessions no longer used, or raise -Dloupe.tornado.arena.mb");
        }
        ip.set(0, at);
        ip.set(1, size);
        launch("zero", size);
        return at;
    }

    /** Gives a region back ({@link DeviceBuffer#release()}); after {@link #close()} there is nothing left to give back to. */
    synchronized void release(int at, int size) {
        if (regions != null && plan != null) regions.release(at, size);
    }

    synchronized void upload(float[] values, int offset) {
        int largest = STAGE_FLOATS.length - 1;
        for (int from = 0; from < values.length; from += STAGE_FLOATS[largest]) {
            int n = Math.min(STAGE_FLOATS[largest], values.length - from);
            int tier = 0;
            while (STAGE_FLOATS[tier] < n) tier++;
            FloatArray stage = stages[tier];
            for (int i = 0; i < n; i++) stage.set(i, values[from + i]);
            ip.set(0, 0);
            ip.set(1, offset + from);
            ip.set(2, n);
            launch("upload" + tier, n);
        }
    }

    synchronized void download(int offset, float[] into) {
        lastResult.transferToHost(new DataRange(arena).withOffset(offset).withSize(into.length));
        for (int i = 0; i < into.length; i++) into[i] = arena.get(offset + i);
    }

    private static DeviceBuffer dev(ActivationBuffer b) {
        if (b instanceof DeviceBuffer d) return d;
        throw new IllegalArgumentException("the TornadoVM backend got a " + b.getClass().getSimpleName() + ", not one of its buffers");
    }

    private void params(int... values) {
        for (int i = 0; i < values.length; i++) ip.set(i, values[i]);
    }

    // ---- heap work on the CPU ----

    @Override public void matmul(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) { host.matmul(w, x, xOff, rows, out, outOff); }

    @Override public void matmulKn(WeightTensor w, float[] x, int xOff, int rows, float[] out, int outOff) { host.matmulKn(w, x, xOff, rows, out, outOff); }

    @Override public void parallelFor(int count, IntConsumer body) { host.parallelFor(count, body); }

    /** The CPU backend that does this backend's heap work (and the SAE kernels' host-side selection and decode). */
    Backend host() { return host; }

    /** The weight matrices on the device (after {@link #prepare}). */
    DeviceWeights weights() { return weights; }

    /** True when device kernel times are collected. */
    boolean profiling() { return profile; }

    /** Closes {@code resource} when this backend closes. */
    synchronized void attach(AutoCloseable resource) { attached.add(resource); }

    /** Adds a device program's kernel time and launch to this backend's counters. */
    synchronized void count(long nanos) {
        kernelNanos += nanos;
        launches++;
        if (profile) opNanos.merge("sae_encode", nanos, Long::sum);
    }

    // ---- buffers ----

    @Override public ActivationBuffer allocate(int floats) { return new DeviceBuffer(this, floats); }

    @Override
    public synchronized void copy(ActivationBuffer src, int srcOff, ActivationBuffer dst, int dstOff, int n) {
        int s = dev(src).onDevice(), d = dev(dst).written();
        params(s + srcOff, d + dstOff, n);
        launch("copy", n);
    }

    // ---- forward pass ----

    @Override
    public synchronized void embed(WeightTensor table, int[] tokens, float scale, ActivationBuffer out) {
        // A gather of a few rows: done on the host and sent, rather than keeping a second copy of the table.
        int d = table.cols();
        float[] x = new float[tokens.length * d];
        for (int t = 0; t < tokens.length; t++) {
            table.readRow(tokens[t], x, t * d);
            for (int i = 0; i < d; i++) x[t * d + i] *= scale;
        }
        out.fromHost(x);
    }

    @Override
    public synchronized void matmul(WeightTensor w, ActivationBuffer x, int xRow, int rows, ActivationBuffer out) {
        DeviceWeights.Placement placement = weights == null ? null : weights.placement(w);
        if (placement == null) throw new IllegalArgumentException("TornadoVM backend: " + w.describe() + " was not uploaded by prepare()");
        int xo = dev(x).onDevice() + xRow * w.cols();
        int o = dev(out).written();
        DeviceWeights.Precision p = placement.precision();
        for (DeviceWeights.Part part : placement.parts()) {
            params(xo, o + part.firstRow(), rows, part.rows(), w.cols(), part.offset(), w.rows(),
                    decodeTableAt + p.tableOffset, p.mantissaBits, p.mantissaMask(), p.exponentMask(), 1 << p.mantissaBits, p.tableSize());
            launchGroups("matmul" + part.pool(), Kernels.matmulGroups(part.rows(), rows));
        }
    }

    @Override
    public synchronized void rmsNorm(ActivationBuffer x, float[] weight, float eps, int rows, ActivationBuffer out) {
        Integer w = vectorOffsets.get(weight);
        if (w == null) throw new IllegalArgumentException("TornadoVM backend: a norm weight was not uploaded by prepare()");
        int xo = dev(x).onDevice(), o = dev(out).written();
        params(xo, o, rows, weight.length, w);
        fp.set(0, eps);
        launchGroups("rmsnorm", rows);
    }

    @Override
    public synchronized void rope(ActivationBuffer x, int heads, RotaryTable table) {
        if (table != lastTable) {
            // one upload per forward pass, shared by q and k of every layer
            float[] both = new float[2 * table.cos().length];
            System.arraycopy(table.cos(), 0, both, 0, table.cos().length);
            System.arraycopy(table.sin(), 0, both, table.cos().length, table.sin().length);
            if (lastTableBuffer != null) lastTableBuffer.release();
            lastTableBuffer = new DeviceBuffer(this, both.length);
            lastTableBuffer.fromHost(both);
            lastTable = table;
        }
        int tab = lastTableBuffer.onDevice();
        int xo = dev(x).written();
        params(xo, tab, table.rows(), heads, table.half());
        launch("rope", (long) table.rows() * heads * table.half());
    }

    @Override
    public synchronized void attention(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, ActivationBuffer values, int p0,
                                       int rows, ActivationBuffer z) {
        params(dev(q).onDevice(), dev(keys).onDevice(), dev(values).onDevice(), dev(z).written(), rows, p0, s.heads(), s.kvHeads(),
                s.headDim(), s.window());
        fp.set(0, s.scale());
        fp.set(1, s.softcap());
        launch("attention", (long) s.heads() * rows);
    }

    @Override
    public synchronized void attentionScores(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, int p0, int rows,
                                             ActivationBuffer scores) {
        params(dev(q).onDevice(), dev(keys).onDevice(), dev(scores).written(), rows, p0, s.heads(), s.kvHeads(), s.headDim());
        fp.set(0, s.scale());
        fp.set(1, s.softcap());
        launch("scores", (long) s.heads() * rows * (p0 + rows));
    }

    @Override
    public synchronized void attentionSoftmax(AttentionShape s, ActivationBuffer scores, int p0, int rows) {
        params(dev(scores).written(), rows, p0, s.heads(), s.window());
        launch("softmax", (long) s.heads() * rows);
    }

    @Override
    public synchronized void attentionMix(AttentionShape s, ActivationBuffer pattern, ActivationBuffer values, int p0, int rows,
                                          ActivationBuffer z) {
        params(dev(pattern).onDevice(), dev(values).onDevice(), dev(z).written(), rows, p0, s.heads(), s.kvHeads(), s.headDim());
        launch("mix", (long) s.heads() * rows * s.headDim());
    }

    @Override
    public synchronized void geglu(ActivationBuffer gate, ActivationBuffer up, int rows, int width) {
        int u = dev(up).onDevice();
        params(dev(gate).written(), u, rows * width);
        launch("geglu", (long) rows * width);
    }

    @Override
    public synchronized void add(ActivationBuffer src, ActivationBuffer dst, int n) {
        int s = dev(src).onDevice();
        params(s, dev(dst).written(), n);
        launch("add", n);
    }

    @Override
    public synchronized void softcap(ActivationBuffer x, int rows, int width, float cap) {
        if (cap <= 0) return;
        params(dev(x).written(), rows * width);
        fp.set(0, cap);
        launch("softcap", (long) rows * width);
    }

    // ---- about ----

    /** Device kernel time summed over launches since creation (0 unless made with profiling). */
    public synchronized long deviceKernelNanos() { return kernelNanos; }

    /** Task-graph launches since creation. */
    public synchronized long launches() { return launches; }

    @Override
    public synchronized Map<String, Long> deviceCounters() {
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("graph_executions", launches);
        if (profile) {
            c.put("device_kernel_ns", kernelNanos);
            for (Map.Entry<String, Long> e : opNanos.entrySet()) c.put("device_kernel_ns." + e.getKey(), e.getValue());
        }
        if (plan != null) c.put("device_memory_bytes", plan.getCurrentDeviceMemoryUsage());
        if (weights != null) c.put("device_weight_bytes", weights.bytes());
        if (regions != null) {
            c.put("device_arena_live_bytes", regions.live() * Float.BYTES);
            c.put("device_arena_peak_bytes", regions.peak() * Float.BYTES);
        }
        return c;
    }

    /** The device the plan runs on, e.g. the OpenCL device's name. */
    public synchronized String deviceName() {
        requirePrepared();
        return plan.getDevice(0).getDeviceName();
    }

    @Override public int threads() { return host.threads(); }

    @Override public String name() { return Backends.TORNADO; }

    @Override
    public synchronized void close() {
        try {
            for (AutoCloseable a : attached) a.close();
            if (plan != null) plan.close();
            plan = null;
        } catch (Exception e) {
            throw new IllegalStateException("TornadoVM backend: closing the execution plan failed: " + e.getMessage(), e);
        } finally {
            host.close();
        }
    }
}
