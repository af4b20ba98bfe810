package dev.loupe.sae;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.backend.Backends;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * tiny-g3's Gemma Scope 2 SAE (fixtures/tiny-g3/sae/manifest.json): loaded beside Gemma Scope 1 and SAELens from its
 * params.safetensors and config.json, its pre-activations, features, L0 and reconstruction equal the fixture's float64
 * computation, it reads the live model's block 3 output, and mismatched layers, widths and models are refused.
 */
class GemmaScope2Test {
    static final String FOLDER = "tiny-g3/sae/resid_post/layer_3_width_128_l0_small";
    @TempDir Path tmp;

    private static Sae load(Path dir) throws IOException { return Sae.load(dir, Backends.byName(Backends.CPU, 1)); }

    private static Npy.Array npy(String name) { return Fixtures.npy(Fixtures.file("tiny-g3/sae/" + name)); }

    @Test
    void encodesAndDecodesAsTheFixture() throws IOException {
        try (Sae sae = load(Fixtures.file(FOLDER))) {
            assertEquals("blocks.3.hook_resid_post", sae.hookName());
            assertEquals(64, sae.dIn());
            assertEquals(128, sae.dSae());
            assertEquals("tiny-g3", sae.config().modelName());
            assertFalse(sae.config().transcoder());
            Npy.Array x = npy("sae_input.npy");
            int rows = x.shape()[0];
            assertArrayEquals(npy("pre_acts.npy").data(), sae.preActivations(x.data(), rows), 1e-4f);
            SparseFeatures f = sae.encode(x.data(), rows);
            assertArrayEquals(npy("l0.npy").ints(), f.l0());
            assertArrayEquals(npy("feature_acts.npy").data(), f.dense(), 1e-4f);
            assertArrayEquals(npy("reconstruction.npy").data(), sae.decode(f), 1e-4f);
        }
    }

    @Test
    void readsTheLiveModelsBlock3Output() throws IOException {
        try (Model m = Model.load(Fixtures.file("tiny-g3/hf"), 1); Sae sae = load(Fixtures.file(FOLDER))) {
            SaeCompatibility.require(sae, m);
            int[] tokens = Fixtures.npy(Fixtures.file("tiny-g3/tokens.npy")).ints();
            var a = m.run(tokens, RunOptions.caching(sae.hookName())).cache().get(sae.hookName());
            SparseFeatures f = sae.encode(a);
            assertArrayEquals(npy("l0.npy").ints(), f.l0(), "same active sets from the float32 model (manifest)");
        }
    }

    private Path copy(String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String f : new String[]{"config.json", "params.safetensors"}) Files.copy(Fixtures.file(FOLDER).resolve(f), dir.resolve(f));
        return dir;
    }

    private static void edit(Path dir, java.util.function.Consumer<ObjectNode> change) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        change.accept(c);
        json.writeValue(dir.resolve("config.json").toFile(), c);
    }

    private static void assertRefused(Path dir, String... fragments) {
        Exception e = assertThrows(Exception.class, () -> load(dir).close());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void layerWidthAndKindMustAgree() throws IOException {
        assertRefused(copy("layer_4_width_128_l0_small"), "layer 4", "layer 3");
        assertRefused(copy("layer_3_width_16k_l0_small"), "width 16384", "128 features");
        Path w = copy("layer_3_width_128_l0_big");
        edit(w, c -> c.put("width", 256));
        assertRefused(w, "width is 256", "128");
        Path clt = copy("clt_layer_3");
        edit(clt, c -> c.put("type", "clt"));
        assertRefused(clt, "clt");
        Path affine = copy("affine");
        edit(affine, c -> c.put("affine_connection", true));
        assertRefused(affine, "affine");
        Path topk = copy("topk");
        edit(topk, c -> c.put("architecture", "topk"));
        assertRefused(topk, "jump_relu");
    }

    @Test
    void aTranscoderReadsItsInputHookAndPredictsItsOutputHook() throws IOException {
        Path dir = copy("layer_3_width_128_l0_small");
        edit(dir, c -> c.put("type", "transcoder").put("hf_hook_point_in", "model.layers.3.pre_feedforward_layernorm.output")
                .put("hf_hook_point_out", "model.layers.3.post_feedforward_layernorm.output"));
        try (Model m = Model.load(Fixtures.file("tiny-g3/hf"), 1); Sae t = load(dir)) {
            assertEquals("blocks.3.ln2.hook_normalized", t.hookName());
            assertEquals("blocks.3.hook_mlp_out", t.config().outputHookName());
            assertTrue(t.config().transcoder());
            SaeCompatibility.require(t, m);
            Exception e = assertThrows(IllegalArgumentException.class, () -> SaeSplice.of(t));
            assertTrue(e.getMessage().contains("transcoder"), e.getMessage());
        }
    }

    @Test
    void anSaeOfAnotherGemmaGenerationIsRefused() throws IOException {
        Path dir = copy("layer_3_width_128_l0_small");
        edit(dir, c -> c.put("model_name", "google/gemma-3-4b-pt"));
        try (Model g1 = Model.load(Fixtures.file("tiny-g1a/hf"), 1); Sae sae = load(dir)) {
            Exception e = assertThrows(IllegalArgumentException.class, () -> SaeCompatibility.require(sae, g1));
            assertTrue(e.getMessage().contains("google/gemma-3-4b-pt") && e.getMessage().contains("gemma"), e.getMessage());
        }
    }
}
