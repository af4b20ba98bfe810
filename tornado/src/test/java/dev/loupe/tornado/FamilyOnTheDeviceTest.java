package dev.loupe.tornado;

import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

/**
 * Gemma 1 (no softcaps, no sliding window, MQA-style sharing) and Gemma 3 (QK-norm, per-layer-type RoPE bases, no
 * softcaps) run on the device through the same operations: logits match the CPU backend within 1e-4 of their largest
 * magnitude and the fixtures' transformers float64 logits within 5e-3.
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
        }
    }
}
