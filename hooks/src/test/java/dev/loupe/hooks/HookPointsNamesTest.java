package dev.loupe.hooks;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class HookPointsNamesTest {
    final HookPoints points = new HookPoints(26);

    @Test
    void namesFollowTransformerLens() {
        assertEquals(1 + 26 * 15 + 1, points.size());
        for (String n : List.of("hook_embed", "blocks.0.hook_resid_pre", "blocks.20.hook_resid_post", "blocks.3.attn.hook_pattern",
                "blocks.3.attn.hook_attn_scores", "blocks.25.attn.hook_z", "blocks.7.mlp.hook_post", "blocks.7.hook_mlp_out",
                "blocks.7.hook_attn_out", "blocks.7.hook_resid_mid", "blocks.1.attn.hook_rot_k", "ln_final.hook_normalized")) {
            assertTrue(points.contains(n), n);
            assertEquals(n, points.name(points.id(n)));
        }
        assertEquals(points.id("blocks.20.hook_resid_post"), points.blockId(20, HookPoints.RESID_POST));
        assertEquals(20, points.layerOf(points.id("blocks.20.attn.hook_q")));
    }

    @Test
    void globsMatchAcrossLayersAndUnknownNamesSuggestTheClosest() {
        assertEquals(26, points.matching("blocks.*.hook_resid_post").size());
        assertEquals(List.of(points.id("blocks.3.attn.hook_pattern")), points.matching("blocks.3.attn.hook_pattern"));
        UnknownHookException e = assertThrows(UnknownHookException.class, () -> points.id("blocks.20.hook_resid_psot"));
        assertEquals("blocks.20.hook_resid_post", e.suggestions().getFirst());
        assertThrows(UnknownHookException.class, () -> points.matching("blocks.*.hook_nothing"));
        assertEquals(3, UnknownHookException.editDistance("kitten", "sitting"));
    }

    @Test
    void cacheJoinsFiringsAlongPositionsAndPadsPatternKeys() {
        ActivationCache cache = new ActivationCache();
        Hook rec = cache.recorder();
        rec.apply(new Activation("x", new int[]{2, 2}, new float[]{1, 2, 3, 4}, 0));
        rec.apply(new Activation("x", new int[]{1, 2}, new float[]{5, 6}, 2));
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, cache.get("x").data());
        rec.apply(new Activation("p", new int[]{1, 2, 2}, new float[]{1, 0, .5f, .5f}, 0));
        rec.apply(new Activation("p", new int[]{1, 1, 3}, new float[]{.2f, .3f, .5f}, 2));
        Activation p = cache.get("p");
        assertArrayEquals(new int[]{1, 3, 3}, p.shape());
        assertArrayEquals(new float[]{1, 0, 0, .5f, .5f, 0, .2f, .3f, .5f}, p.data());
    }

    @Test
    void hookSetsBindOnlyWhatIsAsked() {
        BoundHooks b = HookSet.of("blocks.2.*", a -> { }).bind(new HookPoints(4));
        HookPoints p = b.points();
        assertTrue(b.active(p.id("blocks.2.hook_mlp_out")));
        assertFalse(b.active(p.id("blocks.1.hook_mlp_out")));
        assertEquals(2, b.lastActiveLayer());
    }
}
