package dev.loupe.model.weights;

import dev.loupe.model.Fixtures;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Q8_0 and Q4_0 GGUFs of tiny-a (llama-quantize --pure) dequantize to within the quantization error of the
 * F32 weights. The bounds follow from ggml's reference quantizers, per block of 32 values x with scale d:
 * <ul>
 * <li>Q8_0: d = amax/127, q = round(x/d), so |d·q − x| ≤ d/2; the stored scale D = fp16(d) adds
 *     |q|·|D − d| ≤ 127·|D − d|.</li>
 * <li>Q4_0: d = m/−8 with m the value of largest magnitude, q = min(7, floor(x/d + 0.5)) with x/d in [−8, 8]:
 *     |d·q − x| ≤ |d|/2, except x/d > 7.5 where q = 7 and the error is |d|·(x/d − 7) ≤ |d|; plus 8·|D − d|.</li>
 * </ul>
 * fp16 rounds to nearest: |D − d| ≤ |d|·2⁻¹¹ for normal values, ≤ 2⁻²⁵ for subnormals.
 */
class QuantizedGgufTest {
    private final Path tiny = Fixtures.tinyA();

    @Test
    void q8_0IsWithinHalfAStepOfTheF32Weights() throws IOException {
        check(tiny.resolve("quantized/tiny-a-q8_0.gguf"), DType.Q8_0);
    }

    @Test
    void q4_0IsWithinHalfAStepOfTheF32Weights() throws IOException {
        check(tiny.resolve("quantized/tiny-a-q4_0.gguf"), DType.Q4_0);
    }

    private static void check(Path quantized, DType type) throws IOException {
        try (ModelWeights ref = Checkpoints.load(Fixtures.file("tiny-a/hf")); ModelWeights q = Checkpoints.load(quantized)) {
            assertEquals(ref.config(), q.config());
            List<WeightTensor[]> pairs = new ArrayList<>();
            pairs.add(new WeightTensor[]{ref.embedding(), q.embedding()});
            for (int l = 0; l < ref.layers().size(); l++) {
                LayerWeights r = ref.layers().get(l), w = q.layers().get(l);
                pairs.add(new WeightTensor[]{r.q(), w.q()});
                pairs.add(new WeightTensor[]{r.k(), w.k()});
                pairs.add(new WeightTensor[]{r.v(), w.v()});
                pairs.add(new WeightTensor[]{r.o(), w.o()});
                pairs.add(new WeightTensor[]{r.gate(), w.gate()});
                pairs.add(new WeightTensor[]{r.up(), w.up()});
                pairs.add(new WeightTensor[]{r.down(), w.down()});
                // Norms stay F32 under --pure and keep the converter's 1+w.
                assertArrayEquals(r.inputNorm(), w.inputNorm());
                assertArrayEquals(r.postFeedforwardNorm(), w.postFeedforwardNorm());
            }
            assertArrayEquals(ref.finalNorm(), q.finalNorm());
            for (WeightTensor[] p : pairs) {
                assertEquals(type, p[1].dtype(), p[1].describe());
                assertArrayEquals(p[0].shape(), p[1].shape());
                checkBlocks(p[0], p[1], type);
            }
        }
    }

    private static void checkBlocks(WeightTensor exact, WeightTensor quantized, DType type) {
        long n = exact.numel();
        double worstRatio = 0;
        for (long b = 0; b < n; b += 32) {
            double amax = 0, m = 0;
            for (int j = 0; j < 32; j++) {
                double x = exact.get(b + j);
                if (Math.abs(x) > amax) { amax = Math.abs(x); m = x; }
            }
            double d = type == DType.Q8_0 ? amax / 127 : m / -8;
            double scaleErr = Math.max(Math.abs(d) * 0x1p-11, 0x1p-25);
            for (int j = 0; j < 32; j++) {
                double x = exact.get(b + j);
                double got = quantized.get(b + j);
                double tol;
                if (type == DType.Q8_0) {
                    tol = d / 2 + 127 * scaleErr;
                } else {
                    double t = d == 0 ? 0 : x / d;
                    tol = Math.abs(d) * (t > 7.5 ? t - 7 : 0.5) + 8 * scaleErr;
                }
                tol += 1e-6 * amax; // float32 rounding of x·(1/d) inside ggml
                double err = Math.abs(got - x);
                if (err > tol) {
                    throw new AssertionError(quantized.describe() + "[" + (b + j) + "]: dequantized " + got + ", f32 " + x
                            + ", error " + err + " > bound " + tol);
                }
                if (tol > 0) worstRatio = Math.max(worstRatio, err / tol);
            }
        }
        // A bound that is never approached would hide a wrong layout that happens to be close.
        assertTrue(worstRatio > 0.5, quantized.describe() + ": worst error only " + worstRatio + " of the bound");
    }
}
