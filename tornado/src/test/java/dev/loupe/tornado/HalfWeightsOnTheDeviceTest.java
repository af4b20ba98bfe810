package dev.loupe.tornado;

import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * BF16 weights stay BF16 on the device (decoded in the kernels, FP32 sums) and give the CPU's logits on the same
 * BF16 checkpoint, for a prompt (tiled matmuls) and token by token (one work group per output), also when every
 * matrix is split across small pools; with the work-group matmuls and with the one-item-per-output ones.
 */
class HalfWeightsOnTheDeviceTest {

    @ParameterizedTest
    @EnumSource(value = TornadoBackend.MatmulKernels.class, names = {"GROUP", "ITEM"})
    void bf16CheckpointStaysHalfSizeAndMatchesTheCpu(TornadoBackend.MatmulKernels kernels) {
        Path hf = Fixtures.file("tiny-a/hf-bf16");
        int[] tokens = Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints();
        // 40,000-byte pools: 312 rows of the 384 × 64 embedding in one pool at most, so it is split
        TornadoBackend small = new TornadoBackend(1, 1 << 20, false, DeviceWeights.Policy.AUTO, 40_000, kernels);
        try (Model cpu = Model.load(hf, "cpu", 2); Model gpu = Model.load(hf, small)) {
            DeviceWeights store = small.weights();
            assertTrue(store.pools().stream().allMatch(p -> p instanceof DeviceWeights.HalfPool), "BF16 pools only");
            long values = 0;
            for (var p : store.pools()) values += ((DeviceWeights.HalfPool) p).values().getSize();
            assertEquals(2 * values, store.bytes(), "two bytes a weight");
            assertTrue(store.pools().size() > 1, "several pools");

            float[] c = cpu.run(tokens, RunOptions.defaults()).logits();
            float[] g = gpu.run(tokens, RunOptions.defaults()).logits();
            TornadoBackendTest.assertClose(c, g, TornadoBackendTest.CPU_TOL_SCALED, "bf16 prompt logits vs cpu");
            try (Session cs = cpu.newSession(); Session gs = gpu.newSession()) {
                BoundHooks ch = BoundHooks.none(cpu.hookPoints()), gh = BoundHooks.none(gpu.hookPoints());
                for (int t = 0; t < tokens.length; t++) {
                    float[] cl = cs.process(new int[]{tokens[t]}, ch, -1, 1);
                    float[] gl = gs.process(new int[]{tokens[t]}, gh, -1, 1);
                    TornadoBackendTest.assertClose(cl, gl, TornadoBackendTest.CPU_TOL_SCALED, "bf16 step " + t + " logits vs cpu");
                }
            }
        }
    }

    @Test
    void f32CheckpointRoundedToBf16OnRequestIsHalfSize() {
        Path hf = Fixtures.file("tiny-a/hf");
        int[] tokens = Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints();
        TornadoBackend asF32 = new TornadoBackend(1, 1 << 20, false, DeviceWeights.Policy.AUTO, 1 << 30, TornadoBackend.MatmulKernels.ITEM);
        TornadoBackend asBf16 = new TornadoBackend(1, 1 << 20, false, DeviceWeights.Policy.BF16, 1 << 30, TornadoBackend.MatmulKernels.GROUP);
        try (Model cpu = Model.load(hf, "cpu", 2); Model a = Model.load(hf, asF32); Model b = Model.load(hf, asBf16)) {
            assertTrue(asF32.weights().pools().stream().allMatch(p -> p instanceof DeviceWeights.FloatPool), "F32 stays F32 by default");
            assertEquals(asF32.weights().bytes(), 2 * asBf16.weights().bytes());
            // tiny-a's F32 weights were made from BF16 values, so rounding them to BF16 loses nothing
            float[] c = cpu.run(tokens, RunOptions.defaults()).logits();
            TornadoBackendTest.assertClose(c, a.run(tokens, RunOptions.defaults()).logits(), TornadoBackendTest.CPU_TOL_SCALED, "f32 pools vs cpu");
            TornadoBackendTest.assertClose(c, b.run(tokens, RunOptions.defaults()).logits(), TornadoBackendTest.CPU_TOL_SCALED, "bf16 pools vs cpu");
        }
    }

    /** Past 256 visible keys decoding splits attention over work groups (flash-decoding); the combine must give the CPU's logits. */
    @Test
    void decodingOverALongCacheSplitsAttentionAndMatchesTheCpu() {
        Path hf = Fixtures.file("tiny-a/hf-bf16");
        int prompt = TornadoBackend.ATTENTION_SPLIT_KEYS + 40;
        int[] tokens = new int[prompt + 4];
        tokens[0] = 2;
        for (int i = 1; i < tokens.length; i++) tokens[i] = (i * 37 + 11) % 380 + 3;
        TornadoBackend device = new TornadoBackend(1, 1 << 20, false, DeviceWeights.Policy.AUTO, 1 << 30, TornadoBackend.MatmulKernels.ITEM);
        try (Model cpu = Model.load(hf, "cpu", 2); Model gpu = Model.load(hf, device);
             Session cs = cpu.newSession(); Session gs = gpu.newSession()) {
            BoundHooks ch = BoundHooks.none(cpu.hookPoints()), gh = BoundHooks.none(gpu.hookPoints());
            int[] head = Arrays.copyOf(tokens, prompt);
            TornadoBackendTest.assertClose(cs.process(head, ch, -1, 1), gs.process(head, gh, -1, 1), TornadoBackendTest.CPU_TOL_SCALED, "prompt");
            for (int t = prompt; t < tokens.length; t++) {
                float[] cl = cs.process(new int[]{tokens[t]}, ch, -1, 1);
                float[] gl = gs.process(new int[]{tokens[t]}, gh, -1, 1);
                TornadoBackendTest.assertClose(cl, gl, TornadoBackendTest.CPU_TOL_SCALED, "step " + t + " (" + (t + 1) + " keys) logits vs cpu");
            }
            // 2 of tiny-a's 4 layers attend globally (the others' window is 8), at each of the 4 steps
            assertEquals(8, device.splitAttentions(), "decoding attention split over the keys");
        }
    }
}
