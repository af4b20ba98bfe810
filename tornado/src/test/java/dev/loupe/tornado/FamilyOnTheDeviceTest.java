package dev.loupe.tornado;

import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.Session;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Gemma 1 (no softcaps, no sliding window, MQA-style sharing) and Gemma 3 (QK-norm, per-layer-type RoPE bases, no
 * softcaps) run on the device through the same operations: logits match the CPU backend within 1e-4 of their largest
 * magnitude and the fixtures' transformers float64 logits within 5e-3, and a generation step runs each block as one
 * graph (QK-norm and the two RoPE tables of Gemma 3 included).
 */
class FamilyOnTheDeviceTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a", "tiny-g3"})
    void logitsMatchTheCpuAndTransformers(String fixture) {
        Path hf = Fixtures.file(fixture + "/hf");
        int[] tokens = Fixtures.npy(Fixtures.file(fixture + "/tokens.npy")).ints();
        float[] reference = Fixtures.npy(Fixtures.file(fixture + "/logits.npy")).data();
        try (Model cpu = Model.load(hf, "cpu", 2); Model gpu = Model.load(hf, new TornadoBackend(1, 1 << 20, false))) {
            float[] c = cpu.run(tokens, RunOptions.defaults()).logits();
            float[] g = gpu.run(tokens, RunOptions.defaults()).logits();
            TornadoBackendTest.assertClose(c, g, TornadoBackendTest.CPU_TOL_SCALED, fixture + " logits vs cpu");
            TornadoBackendTest.assertClose(reference, g, TornadoBackendTest.LLAMA_TOL, fixture + " logits vs transformers float64");
            // a generation step runs each block as one graph here too
            int layers = gpu.config().numLayers();
            try (Session gs = gpu.newSession(); Session cs = cpu.newSession()) {
                BoundHooks none = BoundHooks.none(gpu.hookPoints()), cpuNone = BoundHooks.none(cpu.hookPoints());
                float[] cl = cs.process(tokens, cpuNone, -1, 1);
                gs.process(tokens, none, -1, 1);
                for (int step = 0; step < 3; step++) {
                    int next = TornadoBackendTest.argmax(cl);
                    long before = TornadoBackendTest.graphExecutions(gpu);
                    float[] gl = gs.process(new int[]{next}, none, -1, 1);
                    assertEquals(layers + 2, TornadoBackendTest.graphExecutions(gpu) - before, fixture + " graph executions of step " + step);
                    cl = cs.process(new int[]{next}, cpuNone, -1, 1);
                    TornadoBackendTest.assertClose(cl, gl, TornadoBackendTest.CPU_TOL_SCALED, fixture + " step " + step + " logits vs cpu");
                }
            }
        }
    }
}
