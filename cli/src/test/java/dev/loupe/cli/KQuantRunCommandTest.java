package dev.loupe.cli;

import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code loupe run} on the tiny-k GGUFs (llama.cpp's Q4_K, Q6_K and Q4_K_M) against their numpy references. */
class KQuantRunCommandTest {
    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"q4_k", "q6_k", "q4_k_m"})
    void runMatchesTheReferenceLogitsAndResiduals(String type) throws Exception {
        Path k = Fixtures.tinyK();
        String tokens = Arrays.stream(Fixtures.npy(k.resolve("tokens.npy")).ints()).mapToObj(String::valueOf).collect(Collectors.joining(","));
        Cli.Result r = Cli.run("run", "--model", k.resolve("tiny-k-" + type + ".gguf").toString(), "--token-ids", tokens,
                "--logits", dir.resolve("logits.npy").toString(), "--cache", "blocks.*.hook_resid_post", "--cache-dir", dir.resolve("c").toString());
        assertEquals(0, r.exit(), r.err());
        Npy.Array logits = Npy.read(dir.resolve("logits.npy"));
        Npy.Array ref = Fixtures.npy(k.resolve("numpy_" + type + "_logits.npy"));
        assertArrayEquals(ref.shape(), logits.shape());
        float worst = 0;
        for (int i = 0; i < ref.size(); i++) worst = Math.max(worst, Math.abs(ref.data()[i] - logits.data()[i]));
        assertTrue(worst <= 5e-3f, type + " logits: max abs diff " + worst);
        int positions = ref.shape()[0], vocab = ref.shape()[1];
        for (int t = 0; t < positions; t++) assertEquals(argmax(ref.data(), t * vocab, vocab), argmax(logits.data(), t * vocab, vocab), "argmax at " + t);
        Npy.Array lout = Fixtures.npy(k.resolve("numpy_" + type + "_l_out.npy"));
        int per = lout.shape()[1] * lout.shape()[2];
        for (int l = 0; l < lout.shape()[0]; l++) {
            Npy.Array got = Npy.read(dir.resolve("c/blocks." + l + ".hook_resid_post.npy"));
            for (int i = 0; i < per; i++) assertEquals(lout.data()[l * per + i], got.data()[i], 5e-3f, type + " resid_post " + l + " at " + i);
        }
    }

    private static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
        return best;
    }
}
