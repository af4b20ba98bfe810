package dev.loupe.sae;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GemmaScopeLayoutTest {
    private static Optional<String> hook(String path) { return GemmaScopeLayout.of(Path.of(path)).hook(); }

    @Test void sitesFromRepositoryNames() {
        assertEquals(Optional.of("blocks.20.hook_resid_post"), hook("/scope/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71"));
        assertEquals(Optional.of("blocks.3.hook_mlp_out"), hook("/x/gemma-scope-9b-pt-mlp/layer_3/width_131k/average_l0_10/params.npz"));
        assertEquals(Optional.of("blocks.7.attn.hook_z"), hook("/x/gemma-scope-27b-pt-att/layer_7/width_16k/average_l0_88"));
        assertEquals(Optional.of("blocks.12.hook_resid_post"), hook("/x/gemma-scope-9b-it-res/layer_12/width_16k/average_l0_50"));
    }

    @Test void huggingFaceCacheLayout() {
        assertEquals(Optional.of("blocks.5.hook_mlp_out"),
                hook("/root/.cache/huggingface/hub/models--google--gemma-scope-2b-pt-mlp/snapshots/abc123/layer_5/width_65k/average_l0_20"));
    }

    @Test void embeddingSaes() {
        GemmaScopeLayout l = GemmaScopeLayout.of(Path.of("/x/gemma-scope-2b-pt-res/embedding/width_4k/average_l0_6"));
        assertTrue(l.embedding());
        assertEquals(Optional.of("hook_embed"), l.hook());
        assertEquals(4096, l.width().getAsInt());
    }

    @Test void bareLayerFolderIsResidualAndNoLayerIsUnknown() {
        assertEquals(Optional.of("blocks.20.hook_resid_post"), hook("/scope/layer_20/width_16k/average_l0_71"));
        assertEquals(Optional.empty(), hook("/repo/fixtures/tiny-a/sae"));
    }

    @Test void widthNamesRoundPowersOfTwo() {
        assertEquals(16384, GemmaScopeLayout.of(Path.of("/a/layer_1/width_16k/x")).width().getAsInt());
        assertEquals(65536, GemmaScopeLayout.of(Path.of("/a/layer_1/width_65k/x")).width().getAsInt());
        assertEquals(131072, GemmaScopeLayout.of(Path.of("/a/layer_1/width_131k/x")).width().getAsInt());
        assertEquals(262144, GemmaScopeLayout.of(Path.of("/a/layer_1/width_262k/x")).width().getAsInt());
        assertEquals(524288, GemmaScopeLayout.of(Path.of("/a/layer_1/width_524k/x")).width().getAsInt());
        assertEquals(1048576, GemmaScopeLayout.of(Path.of("/a/layer_1/width_1m/x")).width().getAsInt());
    }
}
