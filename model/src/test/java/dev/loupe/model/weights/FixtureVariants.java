package dev.loupe.model.weights;

import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.io.Npy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Other forms of a fixture's weights, written in tests (a sharded HF folder; the tools module's tests add a GGUF file
 * written by its exporter), and the check that such a form still gives the fixture's references.
 */
public final class FixtureVariants {
    private FixtureVariants() {}

    /** {@code hf} re-saved as shards of at most {@code maxShardBytes} (the same tensors, bytes and other files). */
    public static Path sharded(Path hf, Path out, long maxShardBytes) throws IOException {
        Files.createDirectories(out);
        try (var files = Files.list(hf)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().endsWith(".safetensors")) Files.copy(f, out.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        try (SafetensorsShards src = SafetensorsShards.open(hf)) {
            List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
            for (String name : src.names().stream().sorted().toList()) {
                var t = src.tensor(name);
                tensors.add(SafetensorsWriter.Tensor.ofBytes(name, t.dtype(), t.shape(), t.data()));
            }
            List<Path> written = HfCheckpointWriter.writeWeights(out, tensors, maxShardBytes, 1);
            if (written.size() < 2) throw new IllegalStateException("expected several shards, wrote " + written);
        }
        return out;
    }

    /**
     * Runs {@code model} on the tokens of {@code fixture} (a folder under the fixtures, e.g. {@code tiny-g1a}) and checks
     * the logits and every {@code hook_resid_post} against its float64 references, within 5e-3.
     */
    public static void assertMatchesReferences(Path model, String fixture) {
        Path refs = Fixtures.file(fixture);
        try (Model m = Model.load(model, 1)) {
            RunResult r = m.run(Fixtures.npy(refs.resolve("tokens.npy")).ints(), RunOptions.caching("blocks.*.hook_resid_post"));
            float worst = maxDiff(Fixtures.npy(refs.resolve("logits.npy")), r.logits());
            Npy.Array resid = Fixtures.npy(refs.resolve("resid_post.npy"));
            int per = resid.shape()[1] * resid.shape()[2];
            for (int l = 0; l < resid.shape()[0]; l++) {
                float[] got = r.cache().get("blocks." + l + ".hook_resid_post").data();
                for (int i = 0; i < per; i++) worst = Math.max(worst, Math.abs(resid.data()[l * per + i] - got[i]));
            }
            assertTrue(worst <= 5e-3f, model + ": max abs diff " + worst);
        }
    }

    private static float maxDiff(Npy.Array ref, float[] got) {
        float worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(ref.data()[i] - got[i]));
        return worst;
    }
}
