package dev.loupe.sae;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaeLensConfigTest {
    private static SaeLensConfig parse(String json) throws IOException {
        return SaeLensConfig.parse(new ObjectMapper().readTree(json), "cfg.json");
    }

    @Test void saeLens6JumpRelu() throws IOException {
        SaeLensConfig c = parse("""
                {"d_in": 2304, "d_sae": 16384, "dtype": "float32", "device": "cpu", "apply_b_dec_to_input": false,
                 "normalize_activations": "none", "reshape_activations": "none", "architecture": "jumprelu",
                 "metadata": {"hook_name": "blocks.12.hook_resid_post", "sae_lens_version": "6.5.0"}}""");
        assertEquals("blocks.12.hook_resid_post", c.hookName());
        assertEquals(SaeArchitecture.JUMPRELU, c.architecture());
        assertFalse(c.applyBDecToInput());
        assertEquals(Normalization.NONE, c.normalization());
    }

    @Test void legacyTopKAndDefaults() throws IOException {
        SaeLensConfig c = parse("""
                {"d_in": 768, "d_sae": 24576, "hook_point": "blocks.8.hook_resid_pre", "activation_fn_str": "topk",
                 "activation_fn_kwargs": {"k": 32}, "normalize_activations": false}""");
        assertEquals("blocks.8.hook_resid_pre", c.hookName());
        assertEquals(SaeArchitecture.TOPK, c.architecture());
        assertEquals(32, c.k());
        assertTrue(c.applyBDecToInput());
        assertEquals(Normalization.NONE, c.normalization());
    }

    @Test void standardWithNormalisation() throws IOException {
        SaeLensConfig c = parse("""
                {"d_in": 512, "d_sae": 4096, "hook_name": "blocks.0.hook_mlp_out", "architecture": "standard",
                 "normalize_activations": "expected_average_only_in", "norm_scaling_factor": 0.25}""");
        assertEquals(SaeArchitecture.RELU, c.architecture());
        assertEquals(Normalization.EXPECTED_AVERAGE_ONLY_IN, c.normalization());
        assertEquals(0.25f, c.normScalingFactor());
        assertEquals("blocks.0.hook_mlp_out", c.toConfig(null, "x").hookName());
        assertEquals("hook_embed", c.toConfig("hook_embed", "x").hookName());
    }

    @Test void errorsAreOneLine() {
        assertThrows(IOException.class, () -> parse("{\"d_in\": 4, \"architecture\": \"jumprelu\"}"));
        assertThrows(IllegalArgumentException.class, () -> parse("{\"d_in\": 4, \"d_sae\": 8, \"architecture\": \"gated\"}"));
        assertThrows(IOException.class, () -> parse("{\"d_in\": 4, \"d_sae\": 8, \"normalize_activations\": \"expected_average_only_in\"}"));
        assertThrows(IOException.class, () -> parse("{\"d_in\": 4, \"d_sae\": 8, \"architecture\": \"topk\"}"));
        assertThrows(IOException.class, () -> parse("{\"d_in\": 4, \"d_sae\": 8, \"hook_head_index\": 3}"));
    }

    /** Values of the wrong type used to be read as the field's default; nonsense numbers used to divide later. */
    @Test void wrongTypesAndNonsenseValuesNameTheField() {
        String[][] cases = {
                {"\"apply_b_dec_to_input\": \"no\"", "apply_b_dec_to_input"},
                {"\"rescale_acts_by_decoder_norm\": 1", "rescale_acts_by_decoder_norm"},
                {"\"normalize_activations\": {\"a\": 1}", "normalize_activations"},
                {"\"normalize_activations\": \"expected_average_only_in\", \"norm_scaling_factor\": 0", "norm_scaling_factor"},
                {"\"normalize_activations\": \"expected_average_only_in\", \"norm_scaling_factor\": -2", "norm_scaling_factor"},
                {"\"architecture\": \"topk\", \"k\": 9", "k = 9"}};
        for (String[] c : cases) {
            IOException e = assertThrows(IOException.class, () -> parse("{\"d_in\": 4, \"d_sae\": 8, " + c[0] + "}"), c[0]);
            assertTrue(e.getMessage().contains(c[1]) && !e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
