package dev.loupe.tornado;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.backend.BlockStep;
import dev.loupe.model.backend.HeadStep;
import dev.loupe.model.backend.RegionAllocator;
import dev.loupe.model.backend.RotaryTable;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.LayerWeights;
import dev.loupe.model.weights.ModelWeights;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The forward pass and SAE encoding on a TornadoVM device (OpenCL or PTX), in FP32.
 *
 * <p>{@link #prepare} uploads every weight once: matrices into a few pools ({@link DeviceWeights}: FP32 or 16-bit, so one
 * compiled matmul kernel serves every layer), norm vectors into one array. Activations and the KV cache live in one device arena
 * that never comes back as a whole. Every task graph of the one execution plan takes the resident set (arena, norm
 * vectors, weight pools) from the graph executed before it ({@code consumeFromDevice}: TornadoVM passes the device
 * buffers of the last executed graph on) and leaves it there ({@code persistOnDevice}), so each array has one device
 * copy whichever graphs run. Offsets and shapes travel in a small parameter array. A buffer crosses to the host only
 * when {@link ActivationBuffer#toHost()} is called (a hook, the logits), as a partial copy of its region, and goes
 * back through a staging array when a hook has written it.
 *
 * <p>Two ways to run the model. Without hooks inside a block, the forward pass hands over whole steps
 * ({@link ModelSteps}): one graph for the embedding, one per block (a single multi-task graph compiled once and
 * executed for every layer with that layer's offsets), one for the head, so a generated token costs layers + 2
 * graph executions and only the token id goes over the bus. Where a hook is active inside a block, that block runs
 * operation by operation, one small graph each (the methods below), with the activation brought to the host and back.
 *
 * <p>SAE encoders get a plan of their own ({@link TornadoSaeKernels}, the sae module's kernels for this backend).
 * The heap-array products ({@link #matmul(WeightTensor, float[], int, int, float[], int)}) run on a CPU backend.
 */
public final class TornadoBackend implements Backend {
    static final int LOCAL = 64;
    /**
     * Staging arrays for host-to-device copies, smallest first. A graph sends its whole staging array every time,
     * so small uploads go through a 16 KB one rather than the 4 MB one that prompts and hook write-backs need.
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
    private final IntArray ip = new IntArray(24);
    private final FloatArray fp = new FloatArray(4);
    private FloatArray vectors;
    private DeviceWeights weights;
    /** Arena offset of the 16-bit decode table ({@link DeviceWeights#decodeTable()}). */
    private int decodeTableAt;
    /** What every graph takes from the one before and leaves on the device: arena, norm vectors, weight pools. */
    private Object[] resident;
    private final Map<float[], Integer> vectorOffsets = new IdentityHashMap<>();
    private final Map<String, Graph> graphs = new LinkedHashMap<>();
    private List<ImmutableTaskGraph> building;
    private ModelSteps steps;
    private TornadoExecutionPlan plan;
    private TornadoExecutionResult lastResult;
    private long kernelNanos;
    private long launches;
    /** Executions per kind of graph (its name without the trailing pool or variant number). */
    private final Map<String, Long> executions = new LinkedHashMap<>();
    /** Device kernel time per operation (graph name), when profiling. */
    private final Map<String, Long> opNanos = new LinkedHashMap<>();
    private RegionAllocator regions;
    private DeviceBuffer scratchBuffer;
    /** Attentions whose keys were split over work groups (for tests). */
    private long splitAttentions;
    private final MatmulKernels matmulKernels;
    /** One work item per output instead of work groups (decided in prepare). */
    private boolean itemMatmul;

    /** What closes with this backend besides its plan: the SAE kernels' device programs. */
    private final List<AutoCloseable> attached = new ArrayList<>();

    /** A task of a graph: its name and its work-group size. */
    record Task(String name, int local) {}

    /** A graph of the plan: its index, its tasks and one grid per task, in task order (global sizes are set at each launch). */
    record Graph(int index, List<Task> tasks, List<WorkerGrid1D> grids) {}

    /**
     * @param threads     host threads for the CPU work (TopK, sparse decode, heap products)
     * @param arenaFloats device arena for activations and KV cache, in floats
     * @param profile     collect device kernel times ({@link #deviceKernelNanos()})
     */
    public TornadoBackend(int threads, int arenaFloats, boolean profile) {
        this(threads, arenaFloats, profile, DeviceWeights.Policy.fromProperty(), poolBytesFromProperty(), MatmulKernels.fromProperty());
    }

    /**
     * @param weightPolicy the precision of weight matrices on the device
     * @param poolBytes    the largest device array of weights; bigger matrices are split by rows
     */
    TornadoBackend(int threads, int arenaFloats, boolean profile, DeviceWeights.Policy weightPolicy, long poolBytes,
                   MatmulKernels matmulKernels) {
        this.matmulKernels = matmulKernels;
        this.host = Backends.byName(Backends.CPU, threads);
        this.arenaFloats = arenaFloats;
        this.profile = profile;
        this.weightPolicy = weightPolicy;
        this.poolBytes = poolBytes;
    }

    /** TornadoVM's own cap on the device memory it allocates ({@code -Dtornado.device.memory}, default 4GB). */
    static long deviceMemoryLimit() {
        String v = System.getProperty("tornado.device.memory", "4GB").trim().toUpperCase(Locale.ROOT);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*([KMGT]?)B?").matcher(v);
        if (!m.matches()) return Long.MAX_VALUE; // TornadoVM itself will say what it thinks of the value
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return Long.parseLong(m.group(1)) << shift;
    }

    /** {@code -Dloupe.tornado.pool.mb} (default 1024): device allocators cap a single array's size. */
    private static long poolBytesFromProperty() {
        int mb = Integer.getInteger("loupe.tornado.pool.mb", (int) (DeviceWeights.DEFAULT_POOL_BYTES >> 20));
        if (mb < 1 || mb > 8191) throw new BadInputException("-Dloupe.tornado.pool.mb must be in [1, 8191], got " + mb);
        return (long) mb << 20;
    }

    // ---- weights and graphs ----

    @Override
    public synchronized void prepare(ModelWeights model) {
        if (plan != null) throw new IllegalStateException("the TornadoVM backend already holds a model; make one backend per model");
        int total = 0;
        for (float[] v : model.norms()) if (!vectorOffsets.containsKey(v)) { vectorOffsets.put(v, total); total += v.length; }
        vectors = new FloatArray(Math.max(1, total));
        for (Map.Entry<float[], Integer> e : vectorOffsets.entrySet()) {
            for (int i = 0; i < e.getKey().length; i++) vectors.set(e.getValue() + i, e.getKey()[i]);
        }
        // each layer's q, k, v and its gate, up one after another: one launch each (ModelSteps, matmulEach)
        List<List<WeightTensor>> together = new ArrayList<>();
        for (LayerWeights l : model.layers()) {
            together.add(List.of(l.q(), l.k(), l.v()));
            together.add(List.of(l.gate(), l.up()));
        }
        weights = new DeviceWeights(model.matrices(), together, weightPolicy, poolBytes);
        itemMatmul = matmulKernels.item();
        long need = weights.bytes() + (long) arenaFloats * Float.BYTES + (long) total * Float.BYTES;
        long limit = deviceMemoryLimit();
        if (need > limit) {
            throw new BadInputException(String.format(Locale.ROOT, "TornadoVM backend: the weights (%.2f GB) and the arena (%.2f GB) need more "
                    + "than TornadoVM's device memory limit (%.2f GB): raise -Dtornado.device.memory (e.g. LOUPE_JAVA_OPTS=-Dtornado.device.memory=%dGB)",
                    weights.bytes() / 1e9, arenaFloats * 4.0 / 1e9, limit / 1e9, (need >> 30) + 2));
        }
        arena = new FloatArray(arenaFloats);
        regions = new RegionAllocator(arenaFloats);
        List<DeviceWeights.Pool> pools = weights.pools();
        List<Object> res = new ArrayList<>(List.of(arena, vectors));
        for (DeviceWeights.Pool pool : pools) res.add(pool(pool));
        resident = res.toArray();

        building = new ArrayList<>();
        KernelContext kc = new KernelContext();
        // The first graph sends the resident set; an array no task of a graph names gets no device buffer, so each
        // one is named by a task here (keep does nothing with it).
        TaskGraph init = new TaskGraph("init")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, resident)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, ip)
                .task("t", Kernels::zero, kc, arena, ip, 0)
                .task("vectors", Kernels::keep, kc, vectors, ip, 0);
        List<Task> initTasks = new ArrayList<>(List.of(new Task("t", LOCAL), new Task("vectors", LOCAL)));
        for (int p = 0; p < pools.size(); p++) {
            switch (pools.get(p)) {
                case DeviceWeights.FloatPool(FloatArray pool) -> init.task("pool" + p, Kernels::keep, kc, pool, ip, 0);
                case DeviceWeights.HalfPool(ShortArray pool) -> init.task("pool" + p, Kernels::keepHalf, kc, pool, ip, 0);
            }
            initTasks.add(new Task("pool" + p, LOCAL));
        }
        add(init, initTasks);
        add(op("zero").task("t", Kernels::zero, kc, arena, ip, 0));
        for (int s = 0; s < STAGE_FLOATS.length; s++) {
            stages[s] = new FloatArray(STAGE_FLOATS[s]);
            add(graph("upload" + s, stages[s], ip).task("t", Kernels::upload, kc, arena, stages[s], ip, 0));
        }
        add(op("copy").task("t", Kernels::copy, kc, arena, ip, 0));
        add(op("add").task("t", Kernels::add, kc, arena, ip, 0));
        add(op("softcap").task("t", Kernels::softcap, kc, arena, ip, fp, 0));
        add(op("geglu").task("t", Kernels::geglu, kc, arena, ip, 0));
        add(op("rmsnorm").task("t", Kernels::rmsNorm, kc, arena, vectors, ip, fp, 0), Kernels.NORM_GROUP);
        add(op("rope").task("t", Kernels::rope, kc, arena, ip, 0));
        add(op("attention").task("t", Kernels::attention, kc, arena, ip, fp, 0), Kernels.ATT_GROUP);
        add(op("combine").task("t", Kernels::attentionCombine, kc, arena, ip, 0), Kernels.ATT_GROUP);
        add(op("scores").task("t", Kernels::attentionScores, kc, arena, ip, fp, 0));
        add(op("softmax").task("t", Kernels::attentionSoftmax, kc, arena, ip, 0));
        add(op("mix").task("t", Kernels::attentionMix, kc, arena, ip, 0));
        // per pool one matmul graph: one kernel serves decoding (a work group per output) and prefill (tiles)
        for (int p = 0; p < pools.size(); p++) add(matmulTask(op("matmul" + p), "t", p, kc, ip, 0), matmulLocal());
        steps = new ModelSteps(this, model, kc);

        GridScheduler scheduler = new GridScheduler();
        for (Map.Entry<String, Graph> g : graphs.entrySet()) {
            for (int t = 0; t < g.getValue().tasks().size(); t++) {
                scheduler.addWorkerGrid(g.getKey() + "." + g.getValue().tasks().get(t).name(), g.getValue().grids().get(t));
            }
        }
        plan = new TornadoExecutionPlan(building.toArray(ImmutableTaskGraph[]::new)).withGridScheduler(scheduler);
        building = null;
        exactMath(plan);
        if (profile) plan.withProfiler(ProfilerMode.SILENT);
        ip.set(0, 0);
        ip.set(1, 0);
        long[] once = new long[initTasks.size()];
        java.util.Arrays.fill(once, 1);
        launch("init", once);
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

    /** Starts a graph that takes the resident set from the graph before it and sends {@code everyExecution} each time. */
    TaskGraph graph(String name, Object... everyExecution) {
        TaskGraph g = new TaskGraph(name).consumeFromDevice(resident);
        return everyExecution.length == 0 ? g : g.transferToDevice(DataTransferMode.EVERY_EXECUTION, everyExecution);
    }

    /** An operation's graph: one task "t", parameters in {@link #ip} and {@link #fp}. */
    private TaskGraph op(String name) { return graph(name, ip, fp); }

    /** Ends a graph of one task "t" (leaving the resident set on the device) and adds it to the plan being built. */
    private void add(TaskGraph g) { add(g, LOCAL); }

    /** Ends a graph of one task "t" with work groups of {@code local}. */
    private void add(TaskGraph g, int local) { add(g, List.of(new Task("t", local))); }

    /** Ends a graph whose tasks are {@code tasks}, in order, and adds it to the plan being built. */
    void add(TaskGraph g, List<Task> tasks) {
        String name = g.getTaskGraphName();
        List<WorkerGrid1D> grids = new ArrayList<>();
        for (Task t : tasks) {
            WorkerGrid1D grid = new WorkerGrid1D(t.local());
            grid.setLocalWork(t.local(), 1, 1);
            grids.add(grid);
        }
        graphs.put(name, new Graph(building.size(), List.copyOf(tasks), grids));
        building.add(g.persistOnDevice(resident).snapshot());
    }

    FloatArray arena() { return arena; }

    FloatArray vectors() { return vectors; }

    /** The device array of a pool. */
    static Object pool(DeviceWeights.Pool pool) {
        return switch (pool) {
            case DeviceWeights.FloatPool(FloatArray values) -> values;
            case DeviceWeights.HalfPool(ShortArray values) -> values;
        };
    }

    /**
     * Adds a task {@code name} multiplying by the matrices of pool {@code p} (FP32 or 16-bit), parameters from {@code base}:
     * the work-group kernels, or one work item per output on a CPU device ({@link MatmulKernels}).
     */
    TaskGraph matmulTask(TaskGraph g, String name, int p, KernelContext kc, IntArray params, int base) {
        if (itemMatmul) {
            return switch (weights.pools().get(p)) {
                case DeviceWeights.FloatPool(FloatArray pool) -> g.task(name, Kernels::matmulItem, kc, arena, pool, params, base);
                case DeviceWeights.HalfPool(ShortArray pool) -> g.task(name, Kernels::matmulItemHalf, kc, arena, pool, params, base);
            };
        }
        return switch (weights.pools().get(p)) {
            case DeviceWeights.FloatPool(FloatArray pool) -> g.task(name, Kernels::matmul, kc, arena, pool, params, base);
            case DeviceWeights.HalfPool(ShortArray pool) -> g.task(name, Kernels::matmulHalf, kc, arena, pool, params, base);
        };
    }

    /** Work-group size of the matmul tasks. */
    int matmulLocal() { return itemMatmul ? LOCAL : Kernels.MATMUL_LOCAL; }

    /** Work items of a matmul over {@code outputs} × {@code rows}. */
    private long matmulWork(int outputs, int rows) {
        return itemMatmul ? (long) outputs * rows : Kernels.matmulGroups(outputs, rows) * Kernels.MATMUL_LOCAL;
    }

    /**
     * Which matmul kernels run ({@code -Dloupe.tornado.matmul}): the work-group kernels (GPUs), one work item per output
     * (CPU OpenCL devices such as PoCL, where a work group's barriers cost more than they save), or by device type.
     */
    enum MatmulKernels {
        AUTO, GROUP, ITEM;

        static MatmulKernels fromProperty() {
            String v = System.getProperty("loupe.tornado.matmul", "auto");
            try {
                return valueOf(v.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new BadInputException("-Dloupe.tornado.matmul must be auto, group or item, got '" + v + "'");
            }
        }

        boolean item() {
            if (this != AUTO) return this == ITEM;
            return TornadoExecutionPlan.DEFAULT_DEVICE.getDeviceType() == TornadoDeviceType.CPU;
        }
    }

    /** Where a matrix uploaded by {@link #prepare} lies: its precision and its row ranges in the pools. */
    DeviceWeights.Placement placement(WeightTensor w) {
        DeviceWeights.Placement placement = weights == null ? null : weights.placement(w);
        if (placement == null) throw new IllegalArgumentException("TornadoVM backend: " + w.describe() + " was not uploaded by prepare()");
        return placement;
    }

    /**
     * Sets a matmul's parameters from {@code at} (ip 0 x, 1 out at the part's first row, 2 rows, 3 the part's rows, 4 inDim,
     * 5 its offset in the pool, 6 out row stride, 7 .. 12 the 16-bit decode, 13 .. 16 one segment); returns its work items.
     */
    long matmulParams(IntArray p, int at, int x, int out, int rows, WeightTensor w, DeviceWeights.Precision precision,
                      DeviceWeights.Part part) {
        int[] v = {x, out + part.firstRow(), rows, part.rows(), w.cols(), part.offset(), w.rows(), decodeTableAt + precision.tableOffset,
                precision.mantissaBits, precision.mantissaMask(), precision.exponentMask(), 1 << precision.mantissaBits, precision.tableSize(),
                part.rows(), 0, 0, 0};
        for (int i = 0; i < v.length; i++) p.set(at + i, v[i]);
        return matmulWork(part.rows(), rows);
    }

    /**
     * Sets the parameters of one matmul over matrices {@code ws} that {@link DeviceWeights#contiguous} found one after
     * another in a pool ({@code run}), each output to its own buffer {@code outs[j]}; returns its work items.
     */
    long fusedMatmulParams(IntArray p, int at, int x, int[] outs, int rows, WeightTensor[] ws, DeviceWeights.Part run) {
        DeviceWeights.Precision precision = weights.placement(ws[0]).precision();
        int[] v = {x, outs[0], rows, run.rows(), ws[0].cols(), run.offset(), ws[0].rows(), decodeTableAt + precision.tableOffset,
                precision.mantissaBits, precision.mantissaMask(), precision.exponentMask(), 1 << precision.mantissaBits, precision.tableSize(),
                ws[0].rows(), outs[1], ws[1].rows(), outs.length > 2 ? outs[2] : 0};
        for (int i = 0; i < v.length; i++) p.set(at + i, v[i]);
        return matmulWork(run.rows(), rows);
    }

    /** Offset of a norm multiplier in {@link #vectors()}. */
    int vectorOffset(float[] weight) {
        Integer w = vectorOffsets.get(weight);
        if (w == null) throw new IllegalArgumentException("TornadoVM backend: a norm weight was not uploaded by prepare()");
        return w;
    }

    /** Arena offset of the 16-bit decode table. */
    int decodeTableAt() { return decodeTableAt; }

    /** The weight matrices on the device (after {@link #prepare}). */
    DeviceWeights weights() { return weights; }

    /** Keys per work group when decoding attention is split over the cache (flash-decoding). */
    static final int ATTENTION_SPLIT_KEYS = 256;

    /**
     * Sets fused attention's parameters from {@code at} (ip 0 .. 9 as {@link Kernels#attention} says, 10 keys per split,
     * 11 splits, 12 the scratch region) and returns the work items of the attention and of the combine: decoding over more
     * than {@link #ATTENTION_SPLIT_KEYS} visible keys splits them over work groups (flash-decoding), merged by the combine.
     */
    long[] attentionParams(IntArray p, int at, AttentionShape s, int q, int keys, int values, int z, int p0, int rows) {
        if (s.headDim() > Kernels.HEAD_DIM_MAX) {
            throw new BadInputException("TornadoVM backend: head_dim " + s.headDim() + " is more than its attention kernel holds ("
                    + Kernels.HEAD_DIM_MAX + ")");
        }
        int splits = 1, splitKeys = p0 + rows;
        int visible = Math.min(p0 + 1, s.window());
        if (rows == 1 && visible > ATTENTION_SPLIT_KEYS) {
            splitKeys = ATTENTION_SPLIT_KEYS;
            splits = (visible + splitKeys - 1) / splitKeys;
        }
        if (splits > 1) splitAttentions++;
        int scratch = splits == 1 ? 0 : attentionScratch(s.heads() * splits * (s.headDim() + 2));
        int[] v = {q, keys, values, z, rows, p0, s.heads(), s.kvHeads(), s.headDim(), s.window(), splitKeys, splits, scratch};
        for (int i = 0; i < v.length; i++) p.set(at + i, v[i]);
        long groups = (long) s.heads() * rows;
        return new long[]{groups * splits * Kernels.ATT_GROUP, splits == 1 ? 0 : groups * Kernels.ATT_GROUP};
    }

    /** Attentions run with their keys split over work groups (flash-decoding) since creation. */
    synchronized long splitAttentions() { return splitAttentions; }

    /** The flash-decoding scratch region (at least {@code floats}), kept between calls and grown when needed. */
    private int attentionScratch(int floats) {
        if (scratchBuffer == null || scratchBuffer.size() < floats) {
            if (scratchBuffer != null) scratchBuffer.release();
            scratchBuffer = new DeviceBuffer(this, Math.max(floats, 2 * (scratchBuffer == null ? 0 : scratchBuffer.size())));
        }
        return scratchBuffer.write();
    }

    /** Work items of an RMSNorm of {@code rows} rows: a work group per row. */
    static long rmsNormWork(int rows) { return (long) rows * Kernels.NORM_GROUP; }

    // ---- launching and moving data ----

    /**
     * Executes a graph with {@code work[t]} work items for its task t, rounded up to whole work groups; launches
     * nothing if all are 0.
     */
    void launch(String graph, long... work) {
        Graph g = graphs.get(graph);
        if (work.length != g.grids().size()) throw new IllegalStateException(graph + ": " + work.length + " sizes for " + g.grids().size() + " tasks");
        boolean any = false;
        for (int t = 0; t < work.length; t++) {
            // a task with nothing to do still runs (its work items return at once): one work group
            long w = Math.max(work[t], 1);
            long local = g.tasks().get(t).local();
            any |= work[t] > 0;
            g.grids().get(t).setGlobalWork((w + local - 1) / local * local, 1, 1);
        }
        if (!any) return;
        lastResult = plan.withGraph(g.index()).execute();
        launches++;
        String kind = graph.replaceFirst("\\d+$", "");
        executions.merge(kind, 1L, Long::sum);
        if (profile) {
            long ns = lastResult.getProfilerResult().getDeviceKernelTime();
            kernelNanos += ns;
            opNanos.merge(kind, ns, Long::sum);
        }
    }

    private void requirePrepared() {
        if (plan == null) throw new IllegalStateException("the TornadoVM backend runs a model's operations only after prepare() (Model.load does it)");
    }

    /** A region of the arena for {@code size} floats, not zeroed ({@link DeviceBuffer} zeroes when needed); claimed until {@link #release(int, int)}. */
    synchronized int claim(int size) {
        requirePrepared();
        int at = regions.claim(size);
        if (at < 0) {
            throw new IllegalStateException("TornadoVM backend: the device arena of " + (arenaFloats >> 18) + " MB has no free region of "
                    + ((long) size * 4 >> 10) + " KB (" + (regions.live() >> 18) + " MB in use, largest free " + ((long) regions.largestFree() * 4 >> 10)
                    + " KB); close sessions no longer used, or raise -Dloupe.tornado.arena.mb");
        }
        return at;
    }

    /** Zeroes {@code size} floats of the arena from {@code at}. */
    synchronized void zero(int at, int size) {
        params(at, size);
        launch("zero", size);
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
            params(0, offset + from, n);
            launch("upload" + tier, n);
        }
    }

    synchronized void download(int offset, float[] into) {
        lastResult.transferToHost(new DataRange(arena).withOffset(offset).withSize(into.length));
        for (int i = 0; i < into.length; i++) into[i] = arena.get(offset + i);
    }

    static DeviceBuffer dev(ActivationBuffer b) {
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
        int s = dev(src).read(), d = dev(dst).write(dstOff, n);
        params(s + srcOff, d + dstOff, n);
        launch("copy", n);
    }

    // ---- whole steps ----

    @Override
    public synchronized void embed(WeightTensor table, int[] tokens, float scale, ActivationBuffer out) {
        requirePrepared();
        steps.embed(table, tokens, scale, dev(out));
    }

    @Override
    public synchronized boolean block(BlockStep step) {
        requirePrepared();
        return steps.block(step);
    }

    @Override
    public synchronized boolean head(HeadStep step) {
        requirePrepared();
        return steps.head(step);
    }

    // ---- forward pass, operation by operation ----

    @Override
    public synchronized void matmul(WeightTensor w, ActivationBuffer x, int xRow, int rows, ActivationBuffer out) {
        DeviceWeights.Placement placement = placement(w);
        int xo = dev(x).read() + xRow * w.cols();
        int o = dev(out).write(0, rows * w.rows());
        for (DeviceWeights.Part part : placement.parts()) {
            long work = matmulParams(ip, 0, xo, o, rows, w, placement.precision(), part);
            launch("matmul" + part.pool(), work);
        }
    }

    /** q/k/v and gate/up in one launch when they sit one after another in a pool (they do unless a pool ends between). */
    @Override
    public synchronized void matmulEach(WeightTensor[] ws, ActivationBuffer x, int rows, ActivationBuffer[] outs) {
        DeviceWeights.Part run = weights == null || ws.length < 2 || ws.length > 3 || ws.length != outs.length ? null : weights.contiguous(ws);
        if (run == null) {
            Backend.super.matmulEach(ws, x, rows, outs);
            return;
        }
        int xo = dev(x).read();
        int[] o = new int[ws.length];
        for (int j = 0; j < ws.length; j++) o[j] = dev(outs[j]).write(0, rows * ws[j].rows());
        launch("matmul" + run.pool(), fusedMatmulParams(ip, 0, xo, o, rows, ws, run));
    }

    @Override
    public synchronized void rmsNorm(ActivationBuffer x, float[] weight, float eps, int rows, ActivationBuffer out) {
        int w = vectorOffset(weight);
        int xo = dev(x).read();
        int o = out == x ? dev(out).update() : dev(out).write(0, rows * weight.length);
        params(xo, o, rows, weight.length, w);
        fp.set(0, eps);
        launch("rmsnorm", rmsNormWork(rows));
    }

    @Override
    public synchronized void rope(ActivationBuffer x, int heads, RotaryTable table) {
        int xo = dev(x).update();
        ModelSteps.RopeTables.Table t = steps.ropeTable(table);
        params(xo, t.offset() + table.firstPosition() * table.half(), table.rows(), heads, table.half(), t.positions() * table.half());
        launch("rope", (long) table.rows() * heads * table.half());
    }

    @Override
    public synchronized void attention(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, ActivationBuffer values, int p0,
                                       int rows, ActivationBuffer z) {
        long[] work = attentionParams(ip, 0, s, dev(q).read(), dev(keys).read(), dev(values).read(), dev(z).write(0, rows * s.qDim()), p0, rows);
        fp.set(0, s.scale());
        fp.set(1, s.softcap());
        launch("attention", work[0]);
        if (work[1] > 0) launch("combine", work[1]);
    }

    @Override
    public synchronized void attentionScores(AttentionShape s, ActivationBuffer q, ActivationBuffer keys, int p0, int rows,
                                             ActivationBuffer scores) {
        int n = s.heads() * rows * (p0 + rows);
        params(dev(q).read(), dev(keys).read(), dev(scores).write(0, n), rows, p0, s.heads(), s.kvHeads(), s.headDim());
        fp.set(0, s.scale());
        fp.set(1, s.softcap());
        launch("scores", n);
    }

    @Override
    public synchronized void attentionSoftmax(AttentionShape s, ActivationBuffer scores, int p0, int rows) {
        params(dev(scores).update(), rows, p0, s.heads(), s.window());
        launch("softmax", (long) s.heads() * rows);
    }

    @Override
    public synchronized void attentionMix(AttentionShape s, ActivationBuffer pattern, ActivationBuffer values, int p0, int rows,
                                          ActivationBuffer z) {
        params(dev(pattern).read(), dev(values).read(), dev(z).write(0, rows * s.qDim()), rows, p0, s.heads(), s.kvHeads(), s.headDim());
        launch("mix", (long) s.heads() * rows * s.headDim());
    }

    @Override
    public synchronized void geglu(ActivationBuffer gate, ActivationBuffer up, int rows, int width) {
        int u = dev(up).read();
        params(dev(gate).update(), u, rows * width);
        launch("geglu", (long) rows * width);
    }

    @Override
    public synchronized void add(ActivationBuffer src, ActivationBuffer dst, int n) {
        int s = dev(src).read();
        params(s, dev(dst).update(), n);
        launch("add", n);
    }

    @Override
    public synchronized void softcap(ActivationBuffer x, int rows, int width, float cap) {
        if (cap <= 0) return;
        params(dev(x).update(), rows * width);
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
        for (Map.Entry<String, Long> e : executions.entrySet()) c.put("graph_executions." + e.getKey(), e.getValue());
        if (profile) {
            c.put("device_kernel_ns", kernelNanos);
            for (Map.Entry<String, Long> e : opNanos.entrySet()) c.put("device_kernel_ns." + e.getKey(), e.getValue());
        }
        // TornadoVM's own count covers only the graph executed last (the resident set is allocated by "init")
        if (plan != null) c.put("device_memory_bytes", residentBytes());
        if (weights != null) c.put("device_weight_bytes", weights.bytes());
        if (regions != null) {
            c.put("device_arena_live_bytes", regions.live() * Float.BYTES);
            c.put("device_arena_peak_bytes", regions.peak() * Float.BYTES);
        }
        return c;
    }

    /** Device memory of the resident set (arena, norm vectors, weight pools) and the staging arrays. */
    private long residentBytes() {
        long bytes = (long) arenaFloats * Float.BYTES + (long) vectors.getSize() * Float.BYTES + weights.bytes();
        for (FloatArray stage : stages) bytes += (long) stage.getSize() * Float.BYTES;
        return bytes;
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
