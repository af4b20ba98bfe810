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
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.loupe.tornado.TornadoBackend.LOCAL;
import static dev.loupe.tornado.TornadoBackend.dev;
import static dev.loupe.tornado.TornadoBackend.rmsNormWork;

/**
 * The model's whole steps as task graphs built once in {@link TornadoBackend#prepare}: the embedding (rows gathered
 * from the embedding's pool on the device), one block graph (every operation of a Gemma block as one task each, q/k/v
 * and gate/up fused into one matmul each,
 * executed once per layer with that layer's weight and norm offsets, window and RoPE table in its parameter array),
 * and the head (final norm, unembedding, final softcap). A generated token thus costs layers + 2 graph executions,
 * and the only things sent are the parameter arrays (the token id among them).
 *
 * <p>The block graph's tasks share one parameter array, each from its own base; the layout is fixed by the
 * architecture (QK-norm, post-norms). Two more graphs hold the block's halves (attention up to the middle residual,
 * and the MLP after it) with the same layout, for a block with hooks inside only one half; TornadoVM compiles a
 * graph when it first runs, so they cost nothing until used. A layer whose matrices sit in other pools than layer 0's gets a graph of its
 * own for that combination of pools; a layer with a matrix split over pools (bigger than a pool) runs op by op. The
 * embedding and unembedding take one task per part of the embedding. RoPE reads one device-resident cos/sin table
 * per distinct {@link Rope}, covering positions from 0 and grown by doubling. A prompt's embedding rows are gathered
 * on the host and sent in one upload (the device gather takes one row per task).
 */
final class ModelSteps {
    /** Parameters per task (a fused matmul reads 17). */
    private static final int PARAMS = 24;

    private final TornadoBackend be;
    private final ModelConfig c;
    private final ModelWeights w;
    private final boolean qkNorm, postAttentionNorm, postFeedforwardNorm;

    // the embedding and the head: one task per part of the embedding
    private final DeviceWeights.Placement embedding;
    private final IntArray embedParams;
    private final IntArray headParams;

    // the block graph: one parameter array, a base per task, a graph per combination of pools
    private final IntArray lp;
    private final List<TornadoBackend.Task> blockTasks = new ArrayList<>();
    private final Map<String, Integer> base = new LinkedHashMap<>();
    /** The tasks of the attention half: the block's first ones; the MLP half is the rest. */
    private int attentionTasks;
    private final String[] graphOf;
    /** Per layer: where q, k, v (and gate, up) sit one after another, computed by one fused task. */
    private final DeviceWeights.Part[] qkvRun, gateUpRun;
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

        this.embedding = be.placement(model.embedding());
        int parts = embedding.parts().size();
        FloatArray embedFp = constants(c.embeddingScale());
        this.embedParams = new IntArray(PARAMS * parts);
        TaskGraph embed = be.graph("embed", embedParams).transferToDevice(DataTransferMode.FIRST_EXECUTION, embedFp);
        List<TornadoBackend.Task> embedTasks = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            switch (be.weights().pools().get(embedding.parts().get(i).pool())) {
                case DeviceWeights.FloatPool(FloatArray pool) -> embed.task("part" + i, Kernels::embedRow, kc, be.arena(), pool, embedParams, embedFp, PARAMS * i);
                case DeviceWeights.HalfPool(ShortArray pool) -> embed.task("part" + i, Kernels::embedRowHalf, kc, be.arena(), pool, embedParams, embedFp, PARAMS * i);
            }
            embedTasks.add(new TornadoBackend.Task("part" + i, LOCAL));
        }
        be.add(embed, embedTasks);

        this.headParams = new IntArray(PARAMS * (2 + parts));
        List<TornadoBackend.Task> headTasks = new ArrayList<>(List.of(new TornadoBackend.Task("norm", Kernels.NORM_GROUP)));
        TaskGraph head = be.graph("head", headParams).transferToDevice(DataTransferMode.FIRST_EXECUTION, normFp)
                .task("norm", Kernels::rmsNorm, kc, be.arena(), be.vectors(), headParams, normFp, 0);
        for (int i = 0; i < parts; i++) {
            be.matmulTask(head, "logits" + i, embedding.parts().get(i).pool(), kc, headParams, PARAMS * (1 + i));
            headTasks.add(new TornadoBackend.Task("logits" + i, be.matmulLocal()));
        }
        if (c.finalSoftcap() > 0) {
            FloatArray capFp = constants(c.finalSoftcap());
            head.transferToDevice(DataTransferMode.FIRST_EXECUTION, capFp)
                    .task("cap", Kernels::softcap, kc, be.arena(), headParams, capFp, PARAMS * (1 + parts));
            headTasks.add(new TornadoBackend.Task("cap", LOCAL));
        }
        be.add(head, headTasks);

        // the block's tasks in order, each with its work-group size and a base in the parameter array
        layout("norm_in", Kernels.NORM_GROUP);
        layout("qkv", be.matmulLocal());
        if (qkNorm) {
            layout("q_norm", Kernels.NORM_GROUP);
            layout("k_norm", Kernels.NORM_GROUP);
        }
        layout("rope", LOCAL);
        layout("attention", Kernels.ATT_GROUP);
        layout("combine", Kernels.ATT_GROUP);
        layout("o", be.matmulLocal());
        if (postAttentionNorm) layout("post_attention_norm", Kernels.NORM_GROUP);
        layout("add_attention", LOCAL);
        attentionTasks = blockTasks.size();
        layout("norm_ff", Kernels.NORM_GROUP);
        layout("gate_up", be.matmulLocal());
        layout("geglu", LOCAL);
        layout("down", be.matmulLocal());
        if (postFeedforwardNorm) layout("post_feedforward_norm", Kernels.NORM_GROUP);
        layout("add_mlp", LOCAL);
        this.lp = new IntArray(PARAMS * blockTasks.size());

        this.graphOf = new String[c.numLayers()];
        this.qkvRun = new DeviceWeights.Part[c.numLayers()];
        this.gateUpRun = new DeviceWeights.Part[c.numLayers()];
        Map<List<Integer>, String> byPools = new LinkedHashMap<>();
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = model.layers().get(l);
            qkvRun[l] = be.weights().contiguous(new WeightTensor[]{lw.q(), lw.k(), lw.v()});
            gateUpRun[l] = be.weights().contiguous(new WeightTensor[]{lw.gate(), lw.up()});
            List<DeviceWeights.Part> oParts = be.placement(lw.o()).parts(), downParts = be.placement(lw.down()).parts();
            // q/k/v or gate/up not one after another in one pool, or a matrix bigger than a pool: this layer runs op by op
            if (qkvRun[l] == null || gateUpRun[l] == null || oParts.size() != 1 || downParts.size() != 1) continue;
            List<Integer> pools = List.of(qkvRun[l].pool(), oParts.getFirst().pool(), gateUpRun[l].pool(), downParts.getFirst().pool());
            String name = byPools.get(pools);
            if (name == null) {
                name = String.valueOf(byPools.size());
                byPools.put(pools, name);
                be.add(blockGraph("block" + name, pools, kc, normFp, attentionFp, 0, blockTasks.size()), blockTasks);
                be.add(blockGraph("attention" + name, pools, kc, normFp, attentionFp, 0, attentionTasks), blockTasks.subList(0, attentionTasks));
                be.add(blockGraph("mlp" + name, pools, kc, normFp, attentionFp, attentionTasks, blockTasks.size()),
                        blockTasks.subList(attentionTasks, blockTasks.size()));
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

    private void layout(String task, int local) {
        base.put(task, PARAMS * blockTasks.size());
        blockTasks.add(new TornadoBackend.Task(task, local));
    }

    /** A graph of the block's tasks {@code [from, to)}. */
    private TaskGraph blockGraph(String name, List<Integer> pools, KernelContext kc, FloatArray normFp, FloatArray attentionFp, int from, int to) {
        FloatArray a = be.arena(), vec = be.vectors();
        TaskGraph g = be.graph(name, lp).transferToDevice(DataTransferMode.FIRST_EXECUTION, normFp, attentionFp);
        for (TornadoBackend.Task task : blockTasks.subList(from, to)) {
            String t = task.name();
            int at = base.get(t);
            switch (t) {
                case "norm_in", "q_norm", "k_norm", "post_attention_norm", "norm_ff", "post_feedforward_norm" ->
                        g.task(t, Kernels::rmsNorm, kc, a, vec, lp, normFp, at);
                case "qkv" -> be.matmulTask(g, t, pools.get(0), kc, lp, at);
                case "o" -> be.matmulTask(g, t, pools.get(1), kc, lp, at);
                case "gate_up" -> be.matmulTask(g, t, pools.get(2), kc, lp, at);
                case "down" -> be.matmulTask(g, t, pools.get(3), kc, lp, at);
                case "rope" -> g.task(t, Kernels::ropeStore, kc, a, lp, at);
                case "attention" -> g.task(t, Kernels::attention, kc, a, lp, attentionFp, at);
                // the merge of a split attention reads the attention's parameters
                case "combine" -> g.task(t, Kernels::attentionCombine, kc, a, lp, base.get("attention"));
                case "add_attention", "add_mlp" -> g.task(t, Kernels::add, kc, a, lp, at);
                case "geglu" -> g.task(t, Kernels::geglu, kc, a, lp, at);
                default -> throw new IllegalStateException("no kernel for block task " + t);
            }
        }
        return g;
    }

    // ---- the steps ----

    /**
     * The tokens' embedding rows, scaled: one token's gathered on the device (a task per part of the embedding, the
     * part holding the row copies it); a prompt's gathered on the host and sent in one upload.
     */
    void embed(WeightTensor table, int[] tokens, float scale, DeviceBuffer out) {
        int d = table.cols();
        if (tokens.length > 1 || table != w.embedding() || scale != c.embeddingScale()) {
            float[] x = new float[tokens.length * d];
            for (int t = 0; t < tokens.length; t++) {
                table.readRow(tokens[t], x, t * d);
                for (int i = 0; i < d; i++) x[t * d + i] *= scale;
            }
            out.fromHost(x);
            return;
        }
        int o = out.write();
        DeviceWeights.Precision p = embedding.precision();
        long[] work = new long[embedding.parts().size()];
        for (int i = 0; i < work.length; i++) {
            DeviceWeights.Part part = embedding.parts().get(i);
            int row = tokens[0] - part.firstRow();
            int at = row >= 0 && row < part.rows() ? part.offset() + row * d : -1;
            set(embedParams, PARAMS * i, o, at, d, be.decodeTableAt() + p.tableOffset, p.mantissaBits, p.mantissaMask(), p.exponentMask(),
                    1 << p.mantissaBits);
            work[i] = d;
        }
        be.launch("embed", work);
    }

    /** Runs a block, or one of its halves, as one graph execution; false for a layer with a matrix split over pools. */
    boolean block(BlockStep step) {
        int l = step.layer();
        if (graphOf[l] == null) return false;
        BlockStep.Span span = step.span();
        LayerWeights lw = w.layers().get(l);
        int rows = step.rows(), d = c.hiddenSize();
        int x = dev(step.x()).update();
        BlockStep.Scratch s = step.scratch();
        int xn = dev(s.xn()).write(), proj = dev(s.proj()).write();
        long[] work = new long[blockTasks.size()];
        int t = 0;
        if (span != BlockStep.Span.MLP) t = attentionHalf(step, lw, x, xn, proj, work);
        else t = attentionTasks;
        if (span != BlockStep.Span.ATTENTION) {
            int inter = c.intermediateSize();
            int gate = dev(s.gate()).write(), up = dev(s.up()).write();
            work[t++] = norm("norm_ff", x, xn, rows, d, lw.preFeedforwardNorm());
            work[t++] = be.fusedMatmulParams(lp, base.get("gate_up"), xn, new int[]{gate, up}, rows, new WeightTensor[]{lw.gate(), lw.up()},
                    gateUpRun[l]);
            set(lp, base.get("geglu"), gate, up, rows * inter);
            work[t++] = (long) rows * inter;
            work[t++] = matmul("down", gate, proj, rows, lw.down());
            if (postFeedforwardNorm) work[t++] = norm("post_feedforward_norm", proj, proj, rows, d, lw.postFeedforwardNorm());
            set(lp, base.get("add_mlp"), proj, x, rows * d);
            work[t++] = (long) rows * d;
        }
        switch (span) {
            case WHOLE -> be.launch("block" + graphOf[l], work);
            case ATTENTION -> be.launch("attention" + graphOf[l], java.util.Arrays.copyOfRange(work, 0, attentionTasks));
            case MLP -> be.launch("mlp" + graphOf[l], java.util.Arrays.copyOfRange(work, attentionTasks, work.length));
        }
        return true;
    }

    /** Sets the attention half's parameters and work items; returns the number of its tasks. */
    private int attentionHalf(BlockStep step, LayerWeights lw, int x, int xn, int proj, long[] work) {
        int l = step.layer(), rows = step.rows(), p0 = step.p0();
        int d = c.hiddenSize(), kvDim = c.kvDim();
        int heads = c.numHeads(), kvHeads = c.numKvHeads(), hd = c.headDim(), half = hd / 2;
        BlockStep.Scratch s = step.scratch();
        int keys = dev(step.keys()).write(p0 * kvDim, rows * kvDim), values = dev(step.values()).write(p0 * kvDim, rows * kvDim);
        int q = dev(s.q()).write(), k = dev(s.k()).write(), v = dev(s.v()).write(), z = dev(s.z()).write();
        RopeTables.Table tab = tables.covering(ropeOf[l], p0 + rows);
        int t = 0;
        work[t++] = norm("norm_in", x, xn, rows, d, lw.inputNorm());
        work[t++] = be.fusedMatmulParams(lp, base.get("qkv"), xn, new int[]{q, k, v}, rows, new WeightTensor[]{lw.q(), lw.k(), lw.v()}, qkvRun[l]);
        if (qkNorm) {
            work[t++] = norm("q_norm", q, q, rows * heads, hd, lw.qNorm());
            work[t++] = norm("k_norm", k, k, rows * kvHeads, hd, lw.kNorm());
        }
        set(lp, base.get("rope"), q, k, v, keys + p0 * kvDim, values + p0 * kvDim, tab.offset() + p0 * half, tab.positions() * half,
                rows, heads, kvHeads, half);
        work[t++] = (long) rows * (heads + kvHeads) * half;
        long[] attention = be.attentionParams(lp, base.get("attention"), c.attentionShape(l), q, keys, values, z, p0, rows);
        work[t++] = attention[0];
        work[t++] = attention[1];
        work[t++] = matmul("o", z, proj, rows, lw.o());
        if (postAttentionNorm) work[t++] = norm("post_attention_norm", proj, proj, rows, d, lw.postAttentionNorm());
        set(lp, base.get("add_attention"), proj, x, rows * d);
        work[t++] = (long) rows * d;
        return t;
    }

    boolean head(HeadStep step) {
        int d = c.hiddenSize(), vocab = c.vocabSize();
        int rows = step.rows(), lr = step.logitRows(), first = rows - lr;
        int x = dev(step.x()).read();
        int xn = dev(step.normed()).write(first * d, lr * d);
        int logits = dev(step.logits()).write(0, lr * vocab);
        int parts = embedding.parts().size();
        long[] work = new long[1 + parts + (c.finalSoftcap() > 0 ? 1 : 0)];
        set(headParams, 0, x + first * d, xn + first * d, lr, d, be.vectorOffset(w.finalNorm()));
        work[0] = rmsNormWork(lr);
        for (int i = 0; i < parts; i++) {
            work[1 + i] = be.matmulParams(headParams, PARAMS * (1 + i), xn + first * d, logits, lr, w.embedding(), embedding.precision(),
                    embedding.parts().get(i));
        }
        if (c.finalSoftcap() > 0) {
            set(headParams, PARAMS * (1 + parts), logits, lr * vocab);
            work[1 + parts] = (long) lr * vocab;
        }
        be.launch("head", work);
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
        DeviceWeights.Placement placement = be.placement(m);
        return be.matmulParams(lp, base.get(task), x, out, rows, m, placement.precision(), placement.parts().getFirst());
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
