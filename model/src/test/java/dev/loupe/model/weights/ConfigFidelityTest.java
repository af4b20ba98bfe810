package dev.loupe.model.weights;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.RunOptions;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.arch.gemma3.Gemma3;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

import static dev.loupe.model.weights.Damage.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The config rules every family member follows, each a fact about real checkpoints, checked on copies of the tiny-g1a
 * and tiny-g3 folders against the fixtures' transformers references (including its diagnostics: logits with one
 * convention changed).
 */
class ConfigFidelityTest {
    @TempDir Path tmp;

    private Path copy(String fixture) throws IOException {
        return Damage.copyFolder(Fixtures.file(fixture), tmp.resolve(fixture.replace('/', '-')));
    }

    private static float[] logits(Path folder) {
        Path refs = Fixtures.file("tiny-g3");
        try (Model m = Model.load(folder, 1)) {
            return m.run(Fixtures.npy(refs.resolve("tokens.npy")).ints(), RunOptions.caching()).logits();
        }
    }

    private static void assertLogits(Path reference, float[] got, String what) {
        Npy.Array ref = Fixtures.npy(reference);
        float worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(ref.data()[i] - got[i]));
        assertTrue(worst <= 5e-3f, what + ": max abs logit diff " + worst + " from " + reference.getFileName());
    }

    /** transformers 5 writes RoPE only in rope_parameters (per layer type); transformers 4 at the top level. Both read alike. */
    @Test
    void ropeParametersAndTopLevelRopeThetaDescribeTheSameModel() throws IOException {
        Path g3 = Fixtures.file("tiny-g3");
        ModelConfig v5 = HfConfig.read(g3.resolve("hf/config.json"));
        Path old = copy("tiny-g3/hf");
        Files.copy(g3.resolve("diagnostics/config_transformers4_style.json"), old.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ModelConfig v4 = HfConfig.read(old.resolve("config.json"));
        assertEquals(Gemma3.ARCHITECTURE, v5.architecture());
        assertEquals(new Rope(1e6f, 8f), v5.fullRope());
        assertEquals(Rope.of(1e4f), v5.slidingRope());
        assertEquals(v5, v4, "transformers 4 and 5 configs of tiny-g3");
        assertLogits(g3.resolve("logits.npy"), logits(old), "transformers 4 config");
    }

    @Test
    void aConfigWithNeitherRopeThetaNorRopeParametersIsRefused() throws IOException {
        Path g1 = copy("tiny-g1a/hf");
        Damage.rewriteJson(g1.resolve("config.json"), c -> c.remove("rope_parameters"));
        assertOneLineError(() -> Checkpoints.load(g1), "config.json", "neither rope_theta nor rope_parameters");
        Path g3 = copy("tiny-g3/hf");
        Damage.rewriteJson(g3.resolve("config.json"), c -> ((ObjectNode) c.get("rope_parameters")).remove("sliding_attention"));
        assertOneLineError(() -> HfConfig.read(g3.resolve("config.json")), "rope_parameters", "sliding_attention");
        Path yarn = Damage.copyFolder(Fixtures.file("tiny-g3/hf"), tmp.resolve("yarn"));
        Damage.rewriteJson(yarn.resolve("config.json"), c -> ((ObjectNode) c.get("rope_parameters").get("full_attention")).put("rope_type", "yarn"));
        assertOneLineError(() -> HfConfig.read(yarn.resolve("config.json")), "rope_type", "yarn");
    }

    /** layer_types decides which layers slide; the even/odd rule (or Gemma 3's every-6th) is only the fallback. */
    @ParameterizedTest
    @CsvSource({"SSSSSSS, logits_all_layers_sliding.npy", "SFSFSFS, logits_gemma2_layer_pattern_sliding_on_even_layers.npy",
            "SSSSSFS, logits.npy"})
    void layerTypesDecideWhichLayersSlide(String pattern, String reference) throws IOException {
        Path g3 = copy("tiny-g3/hf");
        Damage.rewriteJson(g3.resolve("config.json"), c -> {
            ArrayNode types = c.putArray("layer_types");
            for (char t : pattern.toCharArray()) types.add(t == 'S' ? "sliding_attention" : "full_attention");
        });
        ModelConfig c = HfConfig.read(g3.resolve("config.json"));
        for (int l = 0; l < pattern.length(); l++) assertEquals(pattern.charAt(l) == 'S', c.layerTypes().get(l) == LayerType.SLIDING);
        assertLogits(Fixtures.file("tiny-g3").resolve(reference.equals("logits.npy") ? reference : "diagnostics/" + reference),
                logits(g3), pattern);
    }

    @Test
    void layerTypesOfTheWrongLengthOrKindAreRefused() throws IOException {
        Path g3 = copy("tiny-g3/hf");
        Damage.rewriteJson(g3.resolve("config.json"), c -> ((ArrayNode) c.get("layer_types")).remove(0));
        assertOneLineError(() -> HfConfig.read(g3.resolve("config.json")), "layer_types", "6 layers", "num_hidden_layers is 7");
        Damage.rewriteJson(g3.resolve("config.json"), c -> ((ArrayNode) c.get("layer_types")).add("chunked_attention"));
        assertOneLineError(() -> HfConfig.read(g3.resolve("config.json")), "layer_types", "chunked_attention");
    }

    /** generation_config.json's eos ids win over config.json's; each may be an int or a list. */
    @Test
    void eosIdsComeFromGenerationConfigThenConfig() throws IOException {
        Path g1 = copy("tiny-g1a/hf");
        Path config = g1.resolve("config.json"), gen = g1.resolve(HfConfig.GENERATION_CONFIG);
        assertEquals(List.of(1), HfConfig.read(config).eosIds());
        Damage.rewriteJson(gen, c -> c.putArray("eos_token_id").add(1).add(107));
        assertEquals(List.of(1, 107), HfConfig.read(config).eosIds());
        Damage.rewriteJson(gen, c -> c.remove("eos_token_id"));
        Damage.rewriteJson(config, c -> c.putArray("eos_token_id").add(106).add(1));
        assertEquals(List.of(106, 1), HfConfig.read(config).eosIds());
        Files.delete(gen);
        Damage.rewriteJson(config, c -> c.put("eos_token_id", 107));
        assertEquals(List.of(107), HfConfig.read(config).eosIds());
        Damage.rewriteJson(config, c -> c.put("eos_token_id", 9999));
        assertOneLineError(() -> HfConfig.read(config), "eos_token_id", "9999");
        Damage.rewriteJson(config, c -> c.put("eos_token_id", "one"));
        assertOneLineError(() -> HfConfig.read(config), "eos_token_id", "integer");
    }

    /**
     * Only the tanh GELU is implemented; another activation is refused, never run as tanh. Gemma 1's first configs said
     * {@code hidden_act: "gelu"}, which transformers' Gemma MLP ignores (it reads hidden_activation, tanh when absent):
     * that config runs, and gives the tanh reference, not the exact-GELU diagnostic.
     */
    @Test
    void activationsOtherThanTanhGeluAreRefused() throws IOException {
        Path g1 = copy("tiny-g1a/hf");
        Path config = g1.resolve("config.json");
        Damage.rewriteJson(config, c -> c.put("hidden_act", "gelu"));
        try (Model m = Model.load(g1, 1)) {
            Path refs = Fixtures.file("tiny-g1a");
            assertLogits(refs.resolve("logits.npy"), m.run(Fixtures.npy(refs.resolve("tokens.npy")).ints(), RunOptions.caching()).logits(),
                    "Gemma 1 with hidden_act gelu");
        }
        Damage.rewriteJson(config, c -> c.put("hidden_activation", "gelu"));
        assertOneLineError(() -> Checkpoints.load(g1), "config.json", "hidden_activation", "\"gelu\"", "tanh");
        Damage.rewriteJson(config, c -> { c.remove("hidden_activation"); c.put("hidden_act", "silu"); });
        assertOneLineError(() -> Checkpoints.load(g1), "config.json", "hidden_act", "silu");
        Path g3 = copy("tiny-g3/hf");
        Damage.rewriteJson(g3.resolve("config.json"), c -> c.put("hidden_activation", "gelu"));
        assertOneLineError(() -> Checkpoints.load(g3), "hidden_activation", "gelu");
    }

    /** A multimodal gemma3 checkpoint: text settings in text_config, the text model's tensors under another prefix. */
    @ParameterizedTest
    @CsvSource({"language_model.model.", "model.language_model."})
    void theTextPartOfAGemma3CheckpointLoads(String prefix) throws IOException {
        Path g3 = copy("tiny-g3/hf");
        Damage.rewriteJson(g3.resolve("config.json"), c -> {
            ObjectNode text = c.deepCopy();
            Iterator<String> names = c.fieldNames();
            List<String> all = new java.util.ArrayList<>();
            names.forEachRemaining(all::add);
            all.forEach(c::remove);
            c.put("model_type", "gemma3");
            c.putArray("architectures").add("Gemma3ForConditionalGeneration");
            c.put("eos_token_id", 1);
            c.set("text_config", text);
            c.putObject("vision_config").put("model_type", "siglip_vision_model");
        });
        Damage.rewriteSafetensorsHeader(g3.resolve("model.safetensors"), h -> {
            List<String> names = new java.util.ArrayList<>();
            h.fieldNames().forEachRemaining(names::add);
            for (String n : names) if (n.startsWith("model.")) h.set(prefix + n.substring("model.".length()), h.remove(n));
        });
        assertEquals(Gemma3.ARCHITECTURE, HfConfig.read(g3.resolve("config.json")).architecture());
        assertLogits(Fixtures.file("tiny-g3/logits.npy"), logits(g3), "gemma3 with " + prefix);
    }
}
