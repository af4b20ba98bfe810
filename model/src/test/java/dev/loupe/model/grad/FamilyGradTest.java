package dev.loupe.model.grad;

import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;


import static org.junit.jupiter.api.Assertions.*;

/**
 * Weight gradients on the other family members (their activation gradients: {@link FamilyGradientsTest}): every
 * tensor of Gemma 1 and Gemma 3 gets a nonzero, finite gradient named as in the checkpoint, the QK-norm weights included.
 */
class FamilyGradTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g3/hf"})
    void everyWeightGetsAGradientUnderItsCheckpointName(String src) {
        try (Model model = Model.load(Fixtures.file(src), 2)) {
            int[] tokens = Fixtures.npy(Fixtures.file(src.replace("/hf", "/tokens.npy"))).ints();
            GradientResult g = model.gradients(tokens, GradientRequest.of(Metric.loss()).withParameters(true));
            int perLayer = model.config().architecture().layerTensors().size();
            assertEquals(2 + perLayer * model.config().numLayers(), g.parameters().size(), g.parameters().keySet().toString());
            for (var p : g.parameters().values()) {
                double sum = 0;
                for (float v : p.data()) sum += Math.abs(v);
                assertTrue(sum > 0 && Double.isFinite(sum), p.name() + " has a zero or non-finite gradient");
            }
            if (src.startsWith("tiny-g3")) {
                assertArrayEquals(new int[]{model.config().headDim()}, g.parameters().get("model.layers.0.self_attn.q_norm.weight").shape());
            } else {
                assertNotNull(g.parameters().get("model.layers.0.post_attention_layernorm.weight"), "Gemma 1's pre-MLP norm, by its HF name");
            }
        }
    }
}
