package dev.loupe.model;

import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.LayerWeights;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import dev.loupe.model.arch.LayerTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Q5_K has no llama.cpp fixture, so a model is written in it here: tiny-k's weights (from its Q6_K file) are
 * quantized to Q5_K by {@link KQuantPacker#quantizeQ5K}, which also gives the exact float each element stands for.
 * The Q5_K model must then compute what an F32 copy of those exact floats computes (the F32 path is the one the
 * llama.cpp conformance tests pin down), both batched (prompt kernels) and token by token (matrix-vector kernels).
 */
class Q5KModelTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Both models compute in float32 on the same floats: only summation order differs. */
    private static final float TOL = 2e-4f;

    private record Pair(WeightTensor q5, WeightTensor f32) {
        WeightTensor pick(boolean wantQ5) { return wantQ5 ? q5 : f32; }
    }

    private static Pair convert(WeightTensor w) {
        float[] source = w.toFloatArray();
        KQuantPacker.Packed p = KQuantPacker.tensor(w.name(), DType.Q5_K, w.rows(), w.cols(), KQuantPacker.quantizeQ5K(source));
        MemorySegment data = Arena.ofAuto().allocate(4L * p.values().length, 64);
        MemorySegment.copy(p.values(), 0, data, F32, 0, p.values().length);
        // The quantizer is a real one: every value lands within a grid step of its source.
        double worst = 0;
        for (int i = 0; i < source.length; i++) worst = Math.max(worst, Math.abs(source[i] - p.values()[i]));
        assertTrue(worst < 0.1, w.name() + ": Q5_K values up to " + worst + " from the source");
        return new Pair(p.tensor(), new WeightTensor(w.name(), DType.F32, w.shape(), data, null));
    }

    /** The source's matrices converted once: the Q5_K model and its F32 copy share the conversion. */
    private static ModelWeights[] convertAll(ModelWeights src) {
        ModelWeights[] out = new ModelWeights[2];
        List<List<LayerWeights>> layers = List.of(new ArrayList<>(), new ArrayList<>());
        for (LayerWeights l : src.layers()) {
            Map<LayerTensor, Pair> converted = new EnumMap<>(LayerTensor.class);
            l.matrices().forEach((role, w) -> converted.put(role, convert(w)));
            for (int m = 0; m < 2; m++) {
                boolean q5 = m == 0;
                Map<LayerTensor, WeightTensor> picked = new EnumMap<>(LayerTensor.class);
                converted.forEach((role, p) -> picked.put(role, p.pick(q5)));
                layers.get(m).add(l.withMatrices(picked));
            }
        }
        Pair embedding = convert(src.embedding());
        for (int m = 0; m < 2; m++) out[m] = new ModelWeights(src.config(), embedding.pick(m == 0), layers.get(m), src.finalNorm(), null);
        return out;
    }

    @Test
    void q5kModelComputesWhatAnF32CopyOfItsExactValuesComputes() {
        int[] tokens = Fixtures.npy(Fixtures.file("tiny-k/tokens.npy")).ints();
        try (GemmaModel source = GemmaModel.load(Fixtures.file("tiny-k/tiny-k-q6_k.gguf"), 1)) {
            ModelWeights[] converted = convertAll(source.weights());
            assertEquals(DType.Q5_K, converted[0].layers().get(1).down().dtype());
            try (GemmaModel a = new GemmaModel(converted[0], null, Backends.byName(Backends.CPU, 2)); GemmaModel b = new GemmaModel(converted[1], null, Backends.byName(Backends.CPU, 2))) {
                float[] batchedQ5 = a.run(tokens, RunOptions.caching()).logits();
                float[] batchedF32 = b.run(tokens, RunOptions.caching()).logits();
                float[] stepQ5 = stepwise(a, tokens), stepF32 = stepwise(b, tokens);
                // The F32 model's own two paths (blocked prompt kernels, matrix-vector kernels) differ by float
                // rounding, amplified by this deliberately sensitive model; the Q5_K model may differ from the F32
                // one by no more than a small multiple of that.
                float own = maxDiff(batchedF32, stepF32);
                float tol = Math.max(TOL, 2 * own);
                assertClose(batchedF32, batchedQ5, tol, "batched (F32 paths differ by " + own + ")");
                assertClose(stepF32, stepQ5, tol, "token by token (F32 paths differ by " + own + ")");
                int vocab = a.config().vocabSize();
                for (int t = 0; t < tokens.length; t++) {
                    assertEquals(ForwardConformanceTest.argmax(batchedF32, t * vocab, vocab),
                            ForwardConformanceTest.argmax(batchedQ5, t * vocab, vocab), "argmax at " + t);
                }
            }
        }
    }

    private static float[] stepwise(GemmaModel m, int[] tokens) {
        Session s = m.newSession();
        BoundHooks none = BoundHooks.none(m.hookPoints());
        int vocab = m.config().vocabSize();
        float[] logits = new float[tokens.length * vocab];
        for (int t = 0; t < tokens.length; t++) System.arraycopy(s.process(new int[]{tokens[t]}, none, -1, 1), 0, logits, t * vocab, vocab);
        return logits;
    }

    private static float maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        return worst;
    }

    private static void assertClose(float[] want, float[] got, float tol, String what) {
        float worst = maxDiff(want, got);
        assertTrue(worst <= tol, what + ": max abs diff " + worst + " > " + tol);
    }
}
