package dev.loupe.tornado;

import dev.loupe.hooks.ActivationCache;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.Hook;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.Session;
import dev.loupe.model.io.Npy;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * tiny-a through the TornadoVM backend on the OpenCL device (PoCL here), against the CPU backend (1e-4) and
 * llama.cpp's logits (5e-3), for a batched prompt and token by token, with hooks that read and that replace.
 * Run with -Dtornado.recover.bailout=False (the pom does), so a kernel that does not compile fails the test
 * instead of running as plain Java.
 */
class TornadoBackendTest {
    /**
     * Against the CPU backend: max |cpu − device| ≤ 1e-4 · max(1, max |cpu|) per tensor. The two backends add in
     * different orders (Vector API lanes vs one sum per work item) and use different tanh/exp; on this deliberately
     * sensitive model that puts logits up to ~5e-4 apart in absolute terms (the CPU itself is ~8e-4 from llama.cpp).
     */
    static final float CPU_TOL_SCALED = 1e-4f;
    static final float LLAMA_TOL = 5e-3f;
    static final String[] CACHED = {"blocks.*.hook_resid_post", "blocks.1.attn.hook_pattern", "blocks.2.attn.hook_attn_scores",
            "blocks.0.attn.hook_rot_k", "blocks.3.mlp.hook_post", "hook_embed", "ln_final.hook_normalized"};

    static Model cpu, gpu;
    static int[] tokens;

    @BeforeAll
    static void load() {
        Path hf = Fixtures.file("tiny-a/hf");
        tokens = Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints();
        cpu = Model.load(hf, "cpu", 2);
        gpu = Model.load(hf, "tornado", 2);
    }

    @AfterAll
    static void close() {
        if (cpu != null) cpu.close();
        if (gpu != null) gpu.close();
    }

    @Test
    void promptLogitsAndHookedActivationsMatchTheCpuAndLlamaCpp() {
        RunResult c = cpu.run(tokens, RunOptions.caching(CACHED));
        RunResult g = gpu.run(tokens, RunOptions.caching(CACHED));
        assertClose(c.logits(), g.logits(), CPU_TOL_SCALED, "logits vs cpu");
        assertClose(Fixtures.npy(Fixtures.file("tiny-a/llama_logits.npy")).data(), g.logits(), LLAMA_TOL, "logits vs llama.cpp");
        for (String name : c.cache().names()) {
            assertClose(c.cache().get(name).data(), g.cache().get(name).data(), CPU_TOL_SCALED, name);
        }
        assertEquals(c.cache().names(), g.cache().names());
    }

    @Test
    void tokenByTokenThroughTheDeviceKvCacheMatchesTheCpuAndLlamaCpp() {
        int vocab = cpu.config().vocabSize();
        float[] expected = Fixtures.npy(Fixtures.file("tiny-a/llama_seq_logits.npy")).data();
        ActivationCache cc = new ActivationCache(), gc = new ActivationCache();
        BoundHooks ch = cc.hooksFor(List.of("blocks.*.hook_resid_post", "blocks.3.attn.hook_pattern")).bind(cpu.hookPoints());
        BoundHooks gh = gc.hooksFor(List.of("blocks.*.hook_resid_post", "blocks.3.attn.hook_pattern")).bind(gpu.hookPoints());
        try (Session cs = cpu.newSession(); Session gs = gpu.newSession()) {
        for (int t = 0; t < tokens.length; t++) {
            float[] cl = cs.process(new int[]{tokens[t]}, ch, -1, 1);
            float[] gl = gs.process(new int[]{tokens[t]}, gh, -1, 1);
            assertClose(cl, gl, CPU_TOL_SCALED, "step " + t + " logits vs cpu");
            float[] ref = java.util.Arrays.copyOfRange(expected, t * vocab, (t + 1) * vocab);
            assertClose(ref, gl, LLAMA_TOL, "step " + t + " logits vs llama.cpp");
            assertClose(cc.get("blocks.3.hook_resid_post").data(), gc.get("blocks.3.hook_resid_post").data(), CPU_TOL_SCALED, "step " + t + " resid");
            assertClose(cc.get("blocks.3.attn.hook_pattern").data(), gc.get("blocks.3.attn.hook_pattern").data(), CPU_TOL_SCALED, "step " + t + " pattern");
        }
        }
    }

    @Test
    void replacingHooksSendTheEditedTensorBackToTheDevice() {
        float[] direction = new float[cpu.config().hiddenSize()];
        for (int i = 0; i < direction.length; i++) direction[i] = (i % 7) - 3f;
        Hook steer = a -> a.addToEveryRow(direction, 0.5f);
        Hook firstKeyOnly = a -> {
            // head 0 attends to <bos> only: a pattern edit the device must see
            int rows = a.shape()[1], keys = a.shape()[2];
            for (int t = 0; t < rows; t++) {
                for (int j = 0; j < keys; j++) a.data()[t * keys + j] = j == 0 ? 1f : 0f;
            }
        };
        HookSet edits = HookSet.of("blocks.1.hook_resid_post", steer).with("blocks.2.attn.hook_pattern", firstKeyOnly);
        RunOptions opts = RunOptions.caching("blocks.3.hook_resid_post").withHooks(edits);
        RunResult c = cpu.run(tokens, opts), g = gpu.run(tokens, opts);
        RunResult plain = gpu.run(tokens, RunOptions.defaults());
        assertClose(c.logits(), g.logits(), CPU_TOL_SCALED, "steered logits vs cpu");
        assertClose(c.cache().get("blocks.3.hook_resid_post").data(), g.cache().get("blocks.3.hook_resid_post").data(), CPU_TOL_SCALED, "steered resid");
        assertTrue(maxAbsDiff(plain.logits(), g.logits()) > 0.1f, "the edits changed nothing on the device");
    }

    /**
     * Without hooks a generated token costs one graph execution for the embedding, one per block and one for the head,
     * and its logits still match the CPU's.
     */
    @Test
    void aGenerationStepWithoutHooksExecutesLayersPlusTwoGraphs() {
        int layers = gpu.config().numLayers();
        BoundHooks none = BoundHooks.none(gpu.hookPoints()), cpuNone = BoundHooks.none(cpu.hookPoints());
        try (Session gs = gpu.newSession(); Session cs = cpu.newSession()) {
            float[] c = cs.process(tokens, cpuNone, -1, 1);
            assertClose(c, gs.process(tokens, none, -1, 1), CPU_TOL_SCALED, "prompt logits");
            for (int step = 0; step < 6; step++) {
                int next = argmax(c);
                long before = graphExecutions(gpu);
                float[] g = gs.process(new int[]{next}, none, -1, 1);
                assertEquals(layers + 2, graphExecutions(gpu) - before, "graph executions of generation step " + step);
                c = cs.process(new int[]{next}, cpuNone, -1, 1);
                assertClose(c, g, CPU_TOL_SCALED, "step " + step + " logits vs cpu");
            }
        }
    }

    /**
     * A hook on a block's residual input or output leaves the block one graph: the hook fires once per position chunk,
     * and what it writes goes back to the device (one upload more per step), on every generation step.
     */
    @Test
    void residualHooksFireAroundWholeBlocksAndTheirEditsReachTheDevice() {
        float[] direction = new float[cpu.config().hiddenSize()];
        for (int i = 0; i < direction.length; i++) direction[i] = (i % 5) - 2f;
        int[] gpuCalls = {0};
        HookSet onCpu = HookSet.of("blocks.1.hook_resid_post", a -> a.addToEveryRow(direction, 0.5f));
        HookSet onGpu = HookSet.of("blocks.1.hook_resid_post", a -> {
            gpuCalls[0]++;
            a.addToEveryRow(direction, 0.5f);
        });
        int layers = gpu.config().numLayers();
        BoundHooks gh = onGpu.bind(gpu.hookPoints()), ch = onCpu.bind(cpu.hookPoints()), none = BoundHooks.none(gpu.hookPoints());
        try (Session gs = gpu.newSession(); Session cs = cpu.newSession(); Session plain = gpu.newSession()) {
            float[] c = cs.process(tokens, ch, -1, 1);
            float[] g = gs.process(tokens, gh, -1, 1);
            assertClose(c, g, CPU_TOL_SCALED, "steered prompt logits vs cpu");
            assertTrue(maxAbsDiff(plain.process(tokens, none, -1, 1), g) > 0.1f, "the edit changed nothing on the device");
            for (int step = 0; step < 4; step++) {
                int next = argmax(c);
                long before = graphExecutions(gpu);
                g = gs.process(new int[]{next}, gh, -1, 1);
                assertEquals(layers + 3, graphExecutions(gpu) - before, "graph executions of steered step " + step + " (one upload more)");
                c = cs.process(new int[]{next}, ch, -1, 1);
                assertClose(c, g, CPU_TOL_SCALED, "steered step " + step + " logits vs cpu");
            }
        }
        assertEquals(1 + 4, gpuCalls[0], "the hook fires once for the prompt and once per step");
    }

    /**
     * A hook inside one half of a block leaves the other half one graph: with the MLP output of layer 2 watched, that
     * layer's attention half runs as one graph and its MLP op by op; with layer 1's middle residual watched, both of
     * its halves run as one graph each. Activations and logits match the CPU at every step.
     */
    @Test
    void aHookInsideOneHalfOfABlockLeavesTheOtherHalfOneGraph() {
        List<String> watched = List.of("blocks.2.hook_mlp_out", "blocks.1.hook_resid_mid");
        ActivationCache cc = new ActivationCache(), gc = new ActivationCache();
        BoundHooks ch = cc.hooksFor(watched).bind(cpu.hookPoints()), gh = gc.hooksFor(watched).bind(gpu.hookPoints());
        int layers = gpu.config().numLayers();
        try (Session cs = cpu.newSession(); Session gs = gpu.newSession()) {
            float[] c = cs.process(tokens, ch, -1, 1);
            assertClose(c, gs.process(tokens, gh, -1, 1), CPU_TOL_SCALED, "prompt logits");
            for (int step = 0; step < 3; step++) {
                int next = argmax(c);
                Map<String, Long> before = gpu.backend().deviceCounters();
                float[] g = gs.process(new int[]{next}, gh, -1, 1);
                Map<String, Long> after = gpu.backend().deviceCounters();
                assertEquals(layers - 2, executions(before, after, "block"), "whole blocks in step " + step);
                assertEquals(2, executions(before, after, "attention"), "attention halves in step " + step);
                assertEquals(1, executions(before, after, "mlp"), "MLP halves in step " + step);
                c = cs.process(new int[]{next}, ch, -1, 1);
                assertClose(c, g, CPU_TOL_SCALED, "step " + step + " logits vs cpu");
                for (String name : watched) assertClose(cc.get(name).data(), gc.get(name).data(), CPU_TOL_SCALED, "step " + step + " " + name);
            }
        }
    }

    private static long executions(Map<String, Long> before, Map<String, Long> after, String kind) {
        String key = "graph_executions." + kind;
        return after.getOrDefault(key, 0L) - before.getOrDefault(key, 0L);
    }

    static long graphExecutions(Model m) { return m.backend().deviceCounters().get("graph_executions"); }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    @Test
    void saeEncodingOnTheDeviceMatchesTheCpu() throws Exception {
        Path dir = Fixtures.file("tiny-a/sae");
        String hook = "blocks.2.hook_resid_post";
        Npy.Array input = Fixtures.npy(dir.resolve("sae_input.npy"));
        float[] x = input.data();
        int rows = input.shape()[0];
        try (Sae onCpu = Sae.load(dir, hook, cpu.backend()); Sae onDevice = Sae.load(dir, hook, gpu.backend())) {
            SparseFeatures c = onCpu.encode(x, rows), g = onDevice.encode(x, rows);
            Npy.Array ref = Fixtures.npy(dir.resolve("feature_acts.npy"));
            assertEquals(c.positions(), g.positions());
            int active = 0;
            for (int p = 0; p < rows; p++) {
                assertArrayEquals(c.ids(p), g.ids(p), "active features at position " + p);
                assertClose(c.values(p), g.values(p), CPU_TOL_SCALED, "feature values at position " + p);
                active += g.l0(p);
                for (int k = 0; k < g.l0(p); k++) {
                    int f = g.ids(p)[k];
                    assertEquals(ref.data()[p * ref.shape()[1] + f], g.values(p)[k], LLAMA_TOL, "numpy reference at " + p + "," + f);
                }
            }
            assertTrue(active > 0, "no feature fired");
        }
    }

    @Test
    void kernelsRanOnTheOpenClDeviceNotInTheJavaFallback() {
        TornadoBackend b = (TornadoBackend) gpu.backend();
        long before = b.launches(), nanosBefore = b.deviceKernelNanos();
        gpu.run(tokens, RunOptions.defaults());
        assertTrue(b.launches() - before > 0, "task graphs launched: " + (b.launches() - before));
        // The profiler counts time measured by OpenCL events of kernels that ran on the device; the Java fallback has none.
        assertTrue(b.deviceKernelNanos() > nanosBefore, "no device kernel time was recorded");
        String device = b.deviceName();
        assertTrue(device.toLowerCase(java.util.Locale.ROOT).contains("pthread") || !device.isBlank(), device);
    }

    @Test
    void longRunsRecycleTheArenaRegionsOfPerStepBuffers() {
        // 80k floats: the KV cache for 256 positions (65 536), the step's buffers and room for ~35 logits buffers;
        // 200 steps only fit when each step's logits buffer is released.
        try (Model small = Model.load(Fixtures.file("tiny-a/hf"), new TornadoBackend(1, 80_000, false));
             Session s = small.newSession(); Session ref = cpu.newSession()) {
            BoundHooks none = HookSet.empty().bind(small.hookPoints());
            float[] last = null, lastRef = null;
            for (int t = 0; t < 200; t++) {
                int token = tokens[t % tokens.length];
                last = s.process(new int[]{token}, none, -1, 1);
                lastRef = ref.process(new int[]{token}, HookSet.empty().bind(cpu.hookPoints()), -1, 1);
            }
            assertClose(lastRef, last, CPU_TOL_SCALED, "logits after 200 steps");
        }
    }

    /**
     * Runs and generations close their sessions, giving the KV cache and working buffers back: 60 runs in an arena
     * that holds about two sessions' worth, and the arena's live bytes do not grow.
     */
    @Test
    void closedSessionsGiveTheirDeviceMemoryBack() {
        try (Model small = Model.load(Fixtures.file("tiny-a/hf"), new TornadoBackend(1, 200_000, false))) {
            small.run(tokens, RunOptions.defaults());
            long live = small.backend().deviceCounters().get("device_arena_live_bytes");
            for (int i = 0; i < 60; i++) {
                if (i % 2 == 0) small.run(tokens, RunOptions.caching("blocks.1.attn.hook_pattern"));
                else small.generate(tokens, dev.loupe.model.Generation.greedy(3), HookSet.empty(), null);
            }
            // What stays is the model's RoPE tables (one per RoPE, kept on the device for every position so far).
            long after = small.backend().deviceCounters().get("device_arena_live_bytes");
            assertTrue(after <= live, "live bytes grew from " + live + " to " + after);
            assertTrue(small.backend().deviceCounters().get("graph_executions") > 0);
        }
    }

    static float maxAbsDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static void assertClose(float[] expected, float[] got, float tol, String what) {
        if (tol == CPU_TOL_SCALED) {
            float scale = 1f;
            for (float e : expected) scale = Math.max(scale, Math.abs(e));
            tol *= scale;
        }
        assertEquals(expected.length, got.length, what + ": size");
        for (int i = 0; i < got.length; i++) {
            float e = expected[i], g = got[i];
            if (!(Math.abs(e - g) <= tol)) fail(what + ": index " + i + " expected " + e + " got " + g + " (tolerance " + tol + ")");
        }
    }
}
