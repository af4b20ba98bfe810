package dev.loupe.tornado;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerTensor;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.backend.AttentionShape;
import dev.loupe.model.backend.BlockStep;
import dev.loupe.model.backend.HeadStep;
import dev.loupe.model.backend.RotaryTable;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.LayerWeights;
import dev.loupe.model.weights.ModelWeights;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.loupe.tornado.TornadoBackend.attentionWork;
import static dev.loupe.tornado.TornadoBackend.dev;
import static dev.loupe.tornado.TornadoBackend.matmulWork;
import static dev.loupe.tornado.TornadoBackend.rmsNormWork;

/**
 * The model's whole steps as task graphs built once in {@link TornadoBackend#prepare}: the embedding (rows gathered
 * from the embedding's pool on the device), one block graph (every operation of a Gemma block as one task each,
 * executed once per layer with that layer's weight and norm offsets, window and RoPE table in its parameter array),
 * and the head (final norm, unembedding, final softcap). A generated token thus costs layers + 2 graph executions,
 * and the only things sent are the parameter arrays (the token id among them).
 *
 * <p>The block graph's tasks share one parameter array, each from its own base; the layout is fixed by the
 * architecture (QK-norm, post-norms). A layer whose matrices sit in other pools than layer 0's (pools are split at
 * the device array limit) gets a graph of its own for that combination of pools. RoPE reads one device-resident
 * cos/sin table per distinct {@link Rope}, covering positions from 0 and grown by doubling.
 */
final class ModelSteps {
    /** Tokens an embedding launch takes: a generation step's, and a prompt chunk's. */
    private static final int[] EMBED_TOKENS = {64, 4096};
    private static final int EMBED_PARAMS = 4;
    private static final LayerTensor[] MATRICES = {LayerTensor.Q, LayerTensor.K, LayerTensor.V, LayerTensor.O, LayerTensor.GATE,
            LayerTensor.UP, LayerTensor.DOWN};

    private final TornadoBackend be;
    private final ModelConfig c;
    private final ModelWeights w;
    private final boolean qkNorm, postAttentionNorm, postFeedforwardNorm;

    // the embedding and the head
    private final int[] embedding;
    private final IntArray[] embedParams = new IntArray[EMBED_TOKENS.length];
    private final IntArray headParams = new IntArray(16);

    // the block graph: one parameter array, a base per task, a graph per combination of pools
    private final IntArray lp;
    private final List<String> blockTasks = new ArrayList<>();
    private final Map<String, Integer> base = new LinkedHashMap<>();
    private final String[] graphOf;
    private final RopeTables tables;
    private final int[] ropeOf;

    ModelSteps(TornadoBackend be, ModelWeights model, KernelContext kc) {
        this.be = be;
        this.c = model.config();
        this.w = model;
        Architecture arch = c.architecture();
        this.qkNorm = arch.qkNorm();
        this.postAttentionNorm = arch.has(LayerTensor.POST_ATTENTION_NORM);
        this.postFeedforwardNorm = arch.has(LayerTensor.POST_FEEDFORWARD_NORM);
        FloatArray normFp = constants(c.rmsNormEps());
        AttentionShape shape = c.attentionShape(0);
        FloatArray attentionFp = constants(shape.scale(), shape.softcap());

        this.embedding = be.slot(model.embedding());
        FloatArray embedFp = constants(c.embeddingScale());
        for (int t = 0; t < EMBED_TOKENS.length; t++) {
            embedParams[t] = new IntArray(EMBED_PARAMS + EMBED_TOKENS[t]);
            be.add(be.graph("embed" + t, embedParams[t]).transferToDevice(DataTransferMode.FIRST_EXECUTION, embedFp)
                    .task("t", Kernels::embed, kc, be.arena(), be.pool(embedding[0]), embedParams[t], 0, embedFp), List.of("t"));
        }

        List<String> headTasks = new ArrayList<>(List.of("norm", "logits"));
        TaskGraph head = be.graph("head", headParams).transferToDevice(DataTransferMode.FIRST_EXECUTION, normFp)
                .task("norm", Kernels::rmsNorm, kc, be.arena(), be.vectors(), headParams, 0, normFp)
                .task("logits", Kernels::matmul, kc, be.arena(), be.pool(embedding[0]), headParams, 5);
        if (c.finalSoftcap() > 0) {
            FloatArray capFp = constants(c.finalSoftcap());
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, capFp).task("cap", Kernels::softcap, kc, be.arena(), headParams, 11, capFp);
            headTasks.add("cap");
        }
        be.add(head, headTasks);

        // the block's parameter layout, in task order
        layout("norm_in", 5);
        for (String m : new String[]{"q", "k", "v"}) layout(m, 6);
        if (qkNorm) {
            layout("q_norm", 5);
            layout("k_norm", 5);
        }
        layout("rope", 11);
        layout("attention", 10);
        layout("o", 6);
        if (postAttentionNorm) layout("post_attention_norm", 5);
        layout("add_attention", 3);
        layout("norm_ff", 5);
        layout("gate", 6);
        layout("up", 6);
        layout("geglu", 3);
        layout("down", 6);
        if (postFeedforwardNorm) layout("post_feedforward_norm", 5);
        layout("add_mlp", 3);
        int size = 0;
        for (String t : blockTasks) size = base.get(t) + 16;
        this.lp = new IntArray(size);

        this.graphOf = new String[c.numLayers()];
        Map<List<Integer>, String> byPools = new LinkedHashMap<>();
        for (int l = 0; l < c.numLayers(); l++) {
            List<Integer> pools = new ArrayList<>();
            for (LayerTensor m : MATRICES) pools.add(be.slot(model.layers().get(l).matrix(m))[0]);
            String name = byPools.get(pools);
            if (name == null) {
                name = "block" + byPools.size();
                byPools.put(pools, name);
                be.add(blockGraph(name, pools, kc, normFp, attentionFp), blockTasks);
            }
            graphOf[l] = name;
        }

        List<Rope> distinct = new ArrayList<>();
        this.ropeOf = new int[c.numLayers()];
        for (int l = 0; l < c.numLayers(); l++) {
            if (!distinct.contains(c.rope(l))) distinct.add(c.rope(l));
            ropeOf[l] = distinct.indexOf(c.rope(l));
        }
        this.tables = new RopeTables(be, c.headDim(), c.maxPositions(), distinct);
    }

    private static FloatArray constants(float... values) {
        FloatArray a = new FloatArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    private void layout(String task, int params) {
        int at = 0;
        if (!blockTasks.isEmpty()) at = base.get(blockTasks.getLast()) + 16;
        blockTasks.add(task);
        base.put(task, at);
        if (params > 16) throw new IllegalStateException(task + ": more than 16 parameters");
    }

    private TaskGraph blockGraph(String name, List<Integer> pools, KernelContext kc, FloatArray normFp, FloatArray attentionFp) {
        FloatArray a = be.arena(), vec = be.vectors();
        TaskGraph g = be.graph(name, lp).transferToDevice(DataTransferMode.FIRST_EXECUTION, normFp, attentionFp);
        g.task("norm_in", Kernels::rmsNorm, kc, a, vec, lp, base.get("norm_in"), normFp);
        g.task("q", Kernels::matmul, kc, a, be.pool(pools.get(0)), lp, base.get("q"));
        g.task("k", Kernels::matmul, kc, a, be.pool(pools.get(1)), lp, base.get("k"));
        g.task("v", Kernels::matmul, kc, a, be.pool(pools.get(2)), lp, base.get("v"));
        if (qkNorm) {
            g.task("q_norm", Kernels::rmsNorm, kc, a, vec, lp, base.get("q_norm"), normFp);
            g.task("k_norm", Kernels::rmsNorm, kc, a, vec, lp, base.get("k_norm"), normFp);
        }
        g.task("rope", Kernels::ropeStore, kc, a, lp, base.get("rope"));
        g.task("attention", Kernels::attention, kc, a, lp, base.get("attention"), attentionFp);
        g.task("o", Kernels::matmul, kc, a, be.pool(pools.get(3)), lp, base.get("o"));
        if (postAttentionNorm) g.task("post_attention_norm", Kernels::rmsNorm, kc, a, vec, lp, base.get("post_attention_norm"), normFp);
        g.task("add_attention", Kernels::add, kc, a, lp, base.get("add_attention"));
        g.task("norm_ff", Kernels::rmsNorm, kc, a, vec, lp, base.get("norm_ff"), normFp);
        g.task("gate", Kernels::matmul, kc, a, be.pool(pools.get(4)), lp, base.get("gate"));
        g.task("up", Kernels::matmul, kc, a, be.pool(pools.get(5)), lp, base.get("up"));
        g.task("geglu", Kernels::geglu, kc, a, lp, base.get("geglu"));
        g.task("down", Kernels::matmul, kc, a, be.pool(pools.get(6)), lp, base.get("down"));
        if (postFeedforwardNorm) g.task("post_feedforward_norm", Kernels::rmsNorm, kc, a, vec, lp, base.get("post_feedforward_norm"), normFp);
        g.task("add_mlp", Kernels::add, kc, a, lp, base.get("add_mlp"));
        return g;
    }

    // ---- the steps ----

    /** Gathers and scales the tokens' embedding rows on the device, a chunk of tokens per launch. */
    void embed(WeightTensor table, int[] tokens, float scale, DeviceBuffer out) {
        int[] slot = be.slot(table);
        if (table != w.embedding() || scale != c.embeddingScale()) {
            throw new IllegalArgumentException("TornadoVM backend: embed() takes the model's own embedding and scale");
        }
        int d = table.cols();
        int o = out.write(0, tokens.length * d);
        int largest = EMBED_TOKENS[EMBED_TOKENS.length - 1];
        for (int from = 0; from < tokens.length; from += largest) {
            int n = Math.min(largest, tokens.length - from);
            int tier = 0;
            while (EMBED_TOKENS[tier] < n) tier++;
            IntArray p = embedParams[tier];
            set(p, 0, o + from * d, n, d, slot[1]);
            for (int t = 0; t < n; t++) p.set(EMBED_PARAMS + t, tokens[from + t]);
            be.launch("embed" + tier, (long) n * d);
        }
    }

    boolean block(BlockStep step) {
        int l = step.layer(), rows = step.rows(), p0 = step.p0();
        int d = c.hiddenSize(), qDim = c.qDim(), kvDim = c.kvDim(), inter = c.intermediateSize();
        int heads = c.numHeads(), kvHeads = c.numKvHeads(), hd = c.headDim(), half = hd / 2;
        LayerWeights lw = w.layers().get(l);
        BlockStep.Scratch s = step.scratch();
        int x = dev(step.x()).update();
        int keys = dev(step.keys()).write(p0 * kvDim, rows * kvDim), values = dev(step.values()).write(p0 * kvDim, rows * kvDim);
        int xn = dev(s.xn()).write(), q = dev(s.q()).write(), k = dev(s.k()).write(), v = dev(s.v()).write();
        int z = dev(s.z()).write(), proj = dev(s.proj()).write(), gate = dev(s.gate()).write(), up = dev(s.up()).write();
        RopeTables.Table tab = tables.covering(ropeOf[l], p0 + rows);

        long[] work = new long[blockTasks.size()];
        int t = 0;
        work[t++] = norm("norm_in", x, xn, rows, d, lw.inputNorm());
        work[t++] = matmul("q", xn, q, rows, lw.q());
        work[t++] = matmul("k", xn, k, rows, lw.k());
        work[t++] = matmul("v", xn, v, rows, lw.v());
        if (qkNorm) {
            work[t++] = norm("q_norm", q, q, rows * heads, hd, lw.qNorm());
            work[t++] = norm("k_norm", k, k, rows * kvHeads, hd, lw.kNorm());
        }
        set(lp, base.get("rope"), q, k, v, keys + p0 * kvDim, values + p0 * kvDim, tab.offset() + p0 * half, tab.positions() * half,
                rows, heads, kvHeads, half);
        work[t++] = (long) rows * (heads + kvHeads) * half;
        set(lp, base.get("attention"), q, keys, values, z, rows, p0, heads, kvHeads, hd, c.attentionShape(l).window());
        work[t++] = attentionWork(heads, rows);
        work[t++] = matmul("o", z, proj, rows, lw.o());
        if (postAttentionNorm) work[t++] = norm("post_attention_norm", proj, proj, rows, d, lw.postAttentionNorm());
        set(lp, base.get("add_attention"), proj, x, rows * d);
        work[t++] = (long) rows * d;
        work[t++] = norm("norm_ff", x, xn, rows, d, lw.preFeedforwardNorm());
        work[t++] = matmul("gate", xn, gate, rows, lw.gate());
        work[t++] = matmul("up", xn, up, rows, lw.up());
        set(lp, base.get("geglu"), gate, up, rows * inter);
        work[t++] = (long) rows * inter;
        work[t++] = matmul("down", gate, proj, rows, lw.down());
        if (postFeedforwardNorm) work[t++] = norm("post_feedforward_norm", proj, proj, rows, d, lw.postFeedforwardNorm());
        set(lp, base.get("add_mlp"), proj, x, rows * d);
        work[t++] = (long) rows * d;
        be.launch(graphOf[l], work);
        return true;
    }

    boolean head(HeadStep step) {
        int d = c.hiddenSize(), vocab = c.vocabSize();
        int rows = step.rows(), lr = step.logitRows(), first = rows - lr;
        int x = dev(step.x()).read();
        int xn = dev(step.normed()).write(first * d, lr * d);
        int logits = dev(step.logits()).write(0, lr * vocab);
        set(headParams, 0, x + first * d, xn + first * d, lr, d, be.vectorOffset(w.finalNorm()));
        set(headParams, 5, xn + first * d, logits, lr, vocab, d, embedding[1]);
        set(headParams, 11, logits, lr * vocab);
        if (c.finalSoftcap() > 0) be.launch("head", rmsNormWork(lr), matmulWork(lr, vocab), (long) lr * vocab);
        else be.launch("head", rmsNormWork(lr), matmulWork(lr, vocab));
        return true;
    }

    /** The device table holding {@code table}'s rows (a RoPE of this model, at most its context long). */
    RopeTables.Table ropeTable(RotaryTable table) {
        int rope = tables.index(table.rope());
        if (rope < 0 || table.headDim() != c.headDim()) {
            throw new IllegalArgumentException("TornadoVM backend: a RoPE table of theta " + table.rope().theta() + " and head size "
                    + table.headDim() + " is not one of this model's");
        }
        return tables.covering(rope, table.firstPosition() + table.rows());
    }

    private long norm(String task, int x, int out, int rows, int width, float[] weight) {
        set(lp, base.get(task), x, out, rows, width, be.vectorOffset(weight));
        return rmsNormWork(rows);
    }

    private long matmul(String task, int x, int out, int rows, WeightTensor m) {
        set(lp, base.get(task), x, out, rows, m.rows(), m.cols(), be.slot(m)[1]);
        return matmulWork(rows, m.rows());
    }

    private static void set(IntArray p, int at, int... values) {
        for (int i = 0; i < values.length; i++) p.set(at + i, values[i]);
    }

    /**
     * One cos/sin table per distinct RoPE, on the device for positions {@code [0, positions)}: cos {@code [positions,
     * half]} then sin. A chunk reaching past the end replaces the table by one twice as long (at most the context).
     */
    static final class RopeTables {
        record Table(int offset, int positions) {}

        private final TornadoBackend be;
        private final int headDim, maxPositions;
        private final List<Rope> ropes;
        private final DeviceBuffer[] buffers;
        private final int[] positions;

        RopeTables(TornadoBackend be, int headDim, int maxPositions, List<Rope> ropes) {
            this.be = be;
            this.headDim = headDim;
            this.maxPositions = maxPositions;
            this.ropes = List.copyOf(ropes);
            this.buffers = new DeviceBuffer[ropes.size()];
            this.positions = new int[ropes.size()];
        }

        /** The index of a RoPE of this model, or -1. */
        int index(Rope rope) { return ropes.indexOf(rope); }

        Table covering(int rope, int end) {
            if (end > positions[rope]) {
                int n = Math.max(256, positions[rope]);
                while (n < end) n *= 2;
                n = Math.max(end, Math.min(n, maxPositions));
                RotaryTable t = RotaryTable.of(headDim, ropes.get(rope), 0, n);
                float[] both = new float[2 * t.cos().length];
                System.arraycopy(t.cos(), 0, both, 0, t.cos().length);
                System.arraycopy(t.sin(), 0, both, t.cos().length, t.sin().length);
                if (buffers[rope] != null) buffers[rope].release();
                buffers[rope] = new DeviceBuffer(be, both.length);
                buffers[rope].fromHost(both);
                positions[rope] = n;
            }
            return new Table(buffers[rope].read(), positions[rope]);
        }
    }
}
