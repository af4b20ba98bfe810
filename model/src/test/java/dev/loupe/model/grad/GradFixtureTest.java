package dev.loupe.model.grad;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Fixtures;
import dev.loupe.model.GemmaModel;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The backward pass against float64 PyTorch autograd on tiny-a ({@code fixtures/tiny-a/grad}): logit-diff
 * gradients at every hook point, loss gradients at the residual stream and at every weight, and the linearized
 * gradients. Each tensor must agree within the manifest's float32 tolerance, 3e-4 of its largest magnitude.
 */
class GradFixtureTest {
    /** Float32 autograd's distance from the float64 references, relative to each tensor's largest value (manifest). */
    static final double TOL = 3e-4;
    static GemmaModel model;
    static int[] tokens;
    static Path grad;

    @BeforeAll
    static void load() {
        grad = Fixtures.file("tiny-a/grad");
        model = GemmaModel.load(Fixtures.file("tiny-a/hf"), 2);
        tokens = Fixtures.npy(grad.resolve("tokens.npy")).ints();
    }

    @AfterAll
    static void close() { model.close(); }

    @Test
    void logitDiffGradientsAtEveryHookPoint() throws IOException {
        GradientResult r = model.gradients(tokens, GradientRequest.of(Metric.logitDiff()).capturing("*"));
        assertEquals(104, r.details().get("target"));
        assertEquals(178, r.details().get("baseline"));
        assertEquals(1.9833147071576391, r.value(), 2e-4);
        int checked = 0;
        try (Stream<Path> files = Files.list(grad.resolve("logit_diff"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".npy")).sorted().toList()) {
                String hook = f.getFileName().toString().replaceFirst("\\.npy$", "");
                assertClose(Fixtures.npy(f), r.gradient(hook), "logit_diff " + hook);
                checked++;
            }
        }
        assertEquals(50, checked, "every hook point of the fixture");
    }

    @Test
    void maskedPatternEntriesGetZeroGradient() {
        GradientResult r = model.gradients(tokens, GradientRequest.of(Metric.logitDiff()).capturing("blocks.*.attn.hook_pattern"));
        for (int l = 0; l < 4; l++) {
            Activation g = r.gradient("blocks." + l + ".attn.hook_pattern");
            int heads = g.shape()[0], q = g.shape()[1], k = g.shape()[2];
            int window = l % 2 == 0 ? 8 : Integer.MAX_VALUE;
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < q; i++) {
                    for (int j = 0; j < k; j++) {
                        boolean visible = j <= i && i - j < window;
                        if (!visible) assertEquals(0f, g.data()[(h * q + i) * k + j], "layer " + l + " head " + h + " (" + i + "," + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void lossGradientsAtTheResidualStreamAndEveryWeight() throws IOException {
        GradientResult r = model.gradients(tokens, GradientRequest.of(Metric.loss()).capturing("blocks.*.hook_resid_post").withParameters(true));
        assertEquals(28.269281264381735, r.value(), 1e-4);
        for (int l = 0; l < 4; l++) {
            String hook = "blocks." + l + ".hook_resid_post";
            assertClose(Fixtures.npy(grad.resolve("loss/" + hook + ".npy")), r.gradient(hook), "loss " + hook);
        }
        List<Path> refs;
        try (Stream<Path> files = Files.list(grad.resolve("loss/params"))) { refs = files.sorted().toList(); }
        assertEquals(refs.size(), r.parameters().size(), "one gradient per tensor of model.safetensors: " + r.parameters().keySet());
        for (Path f : refs) {
            String name = f.getFileName().toString().replaceFirst("\\.npy$", "");
            GradientResult.ParameterGradient p = r.parameters().get(name);
            assertNotNull(p, name);
            Npy.Array ref = Fixtures.npy(f);
            assertArrayEquals(ref.shape(), p.shape(), name);
            assertClose(ref, p.data(), "loss param " + name);
        }
    }

    @Test
    void linearizedGradients() {
        GradientResult r = model.gradients(tokens, GradientRequest.of(Metric.logitDiff(Metric.LAST, 104, 178))
                .capturing("blocks.*.hook_resid_post").linearized(Linearization.ATTRIBUTION));
        assertEquals(15.2249175702819, r.value(), 2e-3);
        GradientResult frozen = model.gradients(tokens, GradientRequest.of(Metric.logitDiff(Metric.LAST, 104, 178))
                .capturing("blocks.*.hook_resid_post").linearized(Linearization.ATTRIBUTION.withFrozenMlpOutputs()));
        for (int l = 0; l < 4; l++) {
            String hook = "blocks." + l + ".hook_resid_post";
            assertClose(Fixtures.npy(grad.resolve("linearized/" + hook + ".npy")), r.gradient(hook), "linearized " + hook);
            assertClose(Fixtures.npy(grad.resolve("linearized_mlp_frozen/" + hook + ".npy")), frozen.gradient(hook), "mlp frozen " + hook);
        }
    }

    static void assertClose(Npy.Array ref, Activation got, String what) {
        assertNotNull(got, what + ": not captured");
        assertArrayEquals(ref.shape(), got.shape(), what + " shape");
        assertClose(ref, got.data(), what);
    }

    static void assertClose(Npy.Array ref, float[] got, String what) {
        assertEquals(ref.size(), got.length, what + " size");
        double max = 0, diff = 0;
        int worst = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(ref.data()[i]));
            double dd = Math.abs(ref.data()[i] - got[i]);
            if (dd > diff) { diff = dd; worst = i; }
        }
        assertTrue(diff <= TOL * max, what + ": max |diff| " + diff + " at " + worst + " (ref " + ref.data()[worst] + ", got "
                + got[worst] + ") exceeds " + TOL + " × " + max);
    }
}
