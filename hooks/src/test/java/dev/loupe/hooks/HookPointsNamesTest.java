package dev.loupe.hooks;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class HookPointsNamesTest {
    final HookPoints points = new HookPoints(26);

    @Test
    void namesFollowTransformerLens() {
        assertEquals(1 + 26 * 16 + 1, points.size());
        for (String n : List.of("hook_embed", "blocks.0.hook_resid_pre", "blocks.20.hook_resid_post", "blocks.3.attn.hook_pattern",
                "blocks.3.attn.hook_attn_scores", "blocks.25.attn.hook_z", "blocks.7.mlp.hook_post", "blocks.7.hook_mlp_out",
                "blocks.7.hook_attn_out", "blocks.7.hook_resid_mid", "blocks.1.attn.hook_rot_k", "ln_final.hook_normalized")) {
            assertTrue(points.contains(n), n);
            assertEquals(n, points.name(points.id(n)));
        }
        assertEquals(points.id("blocks.20.hook_resid_post"), points.blockId(20, BlockHook.RESID_POST));
        assertEquals(20, points.layerOf(points.id("blocks.20.attn.hook_q")));
        assertEquals("blocks.20.attn.hook_z", BlockHook.Z.at(20));
        // Ids follow the enum: the forward pass reaches the points in this order.
        for (BlockHook h : BlockHook.standard()) assertEquals(h.at(3), points.name(points.blockId(3, h)));
        assertFalse(points.has(BlockHook.Q_NORMED));
        HookPoints qkNorm = new HookPoints(2, java.util.EnumSet.allOf(BlockHook.class));
        assertEquals("blocks.1.attn.hook_q_normed", qkNorm.name(qkNorm.blockId(1, BlockHook.Q_NORMED)));
        assertEquals(1, qkNorm.layerOf(qkNorm.id("blocks.1.attn.hook_k_normed")));
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
        assertFalse(b.active(p.id("blocks.3.hook_resid_pre")));
    }

    /** A composite hook (an SAE splice) that records which of its children it was able to fire. */
    private record Splice(List<String> fired) implements CompositeHook {
        @Override public List<String> childPoints() { return List.of("hook_sae_input", "hook_sae_acts_post", "hook_sae_output"); }

        @Override public void apply(Activation a, ChildHooks children) {
            for (int i = 0; i < 3; i++) {
                if (children.active(i)) children.fire(i, new Activation(children.name(i), new int[]{1, 1}, new float[1], 0));
            }
            fired.add(a.name());
        }
    }

    @Test
    void compositeHooksAddTheirChildPointsToTheRegistry() {
        HookPoints model = new HookPoints(4);
        List<String> seen = new java.util.ArrayList<>();
        HookSet set = HookSet.of("blocks.2.hook_resid_post", new Splice(seen))
                .with("blocks.2.hook_resid_post.hook_sae_acts_post", a -> seen.add(a.name()))
                .with("blocks.*.hook_resid_post.hook_sae_out*", a -> seen.add(a.name()));
        HookPoints all = set.points(model);
        assertEquals(model.size() + 3, all.size());
        assertEquals(model.names(), all.modelNames());
        assertEquals(List.of("blocks.2.hook_resid_post.hook_sae_input", "blocks.2.hook_resid_post.hook_sae_acts_post",
                "blocks.2.hook_resid_post.hook_sae_output"), all.names().subList(model.size(), all.size()));
        int child = all.id("blocks.2.hook_resid_post.hook_sae_acts_post");
        assertTrue(all.isChild(child));
        assertEquals(all.id("blocks.2.hook_resid_post"), all.parentOf(child));
        assertEquals(2, all.layerOf(child));
        assertEquals(all.lnFinalId(), model.lnFinalId());

        BoundHooks b = set.bind(model);
        assertEquals(all.names(), b.points().names());
        b.fire(model.id("blocks.2.hook_resid_post"), new Activation("blocks.2.hook_resid_post", new int[]{1, 1}, new float[1], 0));
        assertEquals(List.of("blocks.2.hook_resid_post.hook_sae_acts_post", "blocks.2.hook_resid_post.hook_sae_output",
                "blocks.2.hook_resid_post"), seen);

        // A child name is resolved like any other: a typo fails with the closest names, children included.
        UnknownHookException e = assertThrows(UnknownHookException.class,
                () -> set.with("blocks.2.hook_resid_post.hook_sae_act_post", a -> { }).bind(model));
        assertEquals("blocks.2.hook_resid_post.hook_sae_acts_post", e.suggestions().getFirst());
        // Without the splice, its children do not exist.
        assertThrows(UnknownHookException.class,
                () -> HookSet.of("blocks.2.hook_resid_post.hook_sae_acts_post", a -> { }).bind(model));
        // A splice at a point the model lacks fails naming it.
        UnknownHookException wrong = assertThrows(UnknownHookException.class,
                () -> HookSet.of("blocks.9.hook_resid_post", new Splice(seen)).bind(model));
        assertTrue(wrong.getMessage().contains("blocks.9.hook_resid_post"), wrong.getMessage());
    }

    @Test
    void aCompositeAttachedByGlobGetsChildrenAtEveryPoint() {
        HookSet set = HookSet.of("blocks.*.hook_resid_post", new Splice(new java.util.ArrayList<>()));
        HookPoints all = set.points(new HookPoints(3));
        assertEquals(3, all.matching("blocks.*.hook_resid_post.hook_sae_input").size());
        assertTrue(all.contains("blocks.0.hook_resid_post.hook_sae_output"));
    }
}
