package dev.loupe.model;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static dev.loupe.model.ForwardConformanceTest.assertClose;
import static dev.loupe.model.ForwardConformanceTest.assertResiduals;
import static dev.loupe.model.ForwardConformanceTest.assertSameArgmax;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * tiny-k, quantized by llama.cpp into Q4_K, Q6_K and the Q4_K_M mixture, against numpy float64 forward passes on
 * the exactly dequantized weights (float32 activations): batched and token by token through the KV cache, so
 * that both the prompt kernels and the matrix-vector kernels are checked against the references.
 */
class KQuantConformanceTest {
    static final Map<String, GemmaModel> MODELS = new HashMap<>();
    static int[] tokens;

    @BeforeAll
    static void load() {
        tokens = Fixtures.npy(Fixtures.file("tiny-k/tokens.npy")).ints();
        for (String type : new String[]{"q4_k", "q6_k", "q4_k_m"}) {
            MODELS.put(type, GemmaModel.load(Fixtures.tinyK().resolve("tiny-k-" + type + ".gguf"), 2));
        }
    }

    @AfterAll
    static void close() { MODELS.values().forEach(GemmaModel::close); }

    @ParameterizedTest
    @ValueSource(strings = {"q4_k", "q6_k", "q4_k_m"})
    void batchedRunMatchesTheReferenceOnTheExactWeights(String type) {
        RunResult r = MODELS.get(type).run(tokens, RunOptions.caching("blocks.*.hook_resid_post"));
        var ref = Fixtures.npy(Fixtures.tinyK().resolve("numpy_" + type + "_logits.npy"));
        assertClose(ref, r.logits(), type + " logits");
        assertSameArgmax(ref, r.logits(), type);
        assertResiduals(Fixtures.npy(Fixtures.tinyK().resolve("numpy_" + type + "_l_out.npy")), r.cache(), type);
    }

    @ParameterizedTest
    @ValueSource(strings = {"q4_k", "q6_k", "q4_k_m"})
    void tokenByTokenRunMatchesTheReference(String type) {
        GemmaModel m = MODELS.get(type);
        Session s = m.newSession();
        var none = dev.loupe.hooks.BoundHooks.none(m.hookPoints());
        int vocab = m.config().vocabSize();
        float[] logits = new float[tokens.length * vocab];
        for (int t = 0; t < tokens.length; t++) {
            float[] l = s.process(new int[]{tokens[t]}, none, -1, 1);
            System.arraycopy(l, 0, logits, t * vocab, vocab);
        }
        var ref = Fixtures.npy(Fixtures.tinyK().resolve("numpy_" + type + "_logits.npy"));
        assertClose(ref, logits, type + " sequential logits");
        assertSameArgmax(ref, logits, type + " sequential");
    }

    /** The files hold the types the manifest names: the tests above exercise every k-quant kernel llama.cpp wrote. */
    @ParameterizedTest
    @ValueSource(strings = {"q4_k", "q6_k", "q4_k_m"})
    void filesHoldTheTypesTheManifestNames(String type) throws IOException {
        Set<DType> want = switch (type) {
            case "q4_k" -> EnumSet.of(DType.F32, DType.Q4_K);
            case "q6_k" -> EnumSet.of(DType.F32, DType.Q6_K);
            default -> EnumSet.of(DType.F32, DType.Q4_K, DType.Q6_K);
        };
        Path file = Fixtures.tinyK().resolve("tiny-k-" + type + ".gguf");
        try (GgufFile f = GgufFile.open(file)) {
            Set<DType> found = EnumSet.noneOf(DType.class);
            for (GgufFile.TensorInfo t : f.tensorInfos()) {
                WeightTensor w = f.tensor(t.name());
                found.add(w.dtype());
            }
            assertEquals(want, found, file.toString());
        }
    }
}
