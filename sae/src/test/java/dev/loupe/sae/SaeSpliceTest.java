package dev.loupe.sae;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import dev.loupe.hooks.UnknownHookException;
import dev.loupe.sae.SaeSplice.Point;
import dev.loupe.model.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The splice on the fixture's residual activations, without a model: what it writes back at its hook point. Every
 * hook set is bound against a 4-layer model's registry and fired by id, as the forward pass does.
 */
class SaeSpliceTest {
    private static final HookPoints POINTS = SaeFixture.POINTS;
    private static Sae sae;
    private static Npy.Array x;
    private static int rows;

    @BeforeAll static void load() {
        sae = SaeFixture.load();
        x = SaeFixture.npy("sae_input.npy");
        rows = x.shape()[0];
    }

    @AfterAll static void close() { sae.close(); }

    private static Activation activation() { return SaeFixture.input(); }

    private static void fire(HookSet hooks, Activation a) { SaeFixture.fire(hooks, a); }

    @Test void withoutErrorTermTheActivationBecomesTheReconstruction() {
        Activation a = activation();
        fire(SaeSplice.of(sae).hookSet(), a);
        assertArrayEquals(SaeFixture.npy("reconstruction.npy").data(), a.data(), 5e-3f);
    }

    @Test void withErrorTermAndNothingChangedTheActivationIsUntouched() {
        Activation a = activation();
        List<String> seen = new ArrayList<>();
        // An observer on the features forces the full encode/decode path.
        fire(SaeSplice.of(sae).withErrorTerm(true).hookSet().with("*.hook_sae_acts_post", h -> seen.add(h.name())), a);
        assertArrayEquals(x.data(), a.data(), 0f);
        assertEquals(List.of(SaeFixture.HOOK + ".hook_sae_acts_post"), seen);
    }

    @Test void clampWithErrorTermAddsTheFeatureDeltaTimesItsDecoderRow() {
        SparseFeatures f = sae.encode(x.data(), rows);
        int feature = f.ids(0)[0];
        float value = 10f;
        Activation a = activation();
        fire(SaeSplice.of(sae).withErrorTerm(true).clamp(feature, value).hookSet(), a);
        float[] dir = sae.direction(feature);
        for (int p = 0; p < rows; p++) {
            float delta = value - f.get(p, feature);
            for (int i = 0; i < 64; i++) {
                assertEquals(x.data()[p * 64 + i] + delta * dir[i], a.data()[p * 64 + i], 1e-4f, "position " + p);
            }
        }
    }

    @Test void ablateRemovesTheFeatureFromTheReconstruction() {
        SparseFeatures f = sae.encode(x.data(), rows);
        int feature = f.ids(3)[0];
        Activation a = activation();
        fire(SaeSplice.of(sae).ablate(feature).hookSet(), a);
        float[] recon = sae.decode(f);
        float[] dir = sae.direction(feature);
        for (int p = 0; p < rows; p++) {
            float had = f.get(p, feature);
            for (int i = 0; i < 64; i++) assertEquals(recon[p * 64 + i] - had * dir[i], a.data()[p * 64 + i], 1e-4f);
        }
    }

    @Test void internalHooksFireInOrderWithTheirShapesAndCanEditFeatures() {
        List<String> order = new ArrayList<>();
        HookSet s = SaeSplice.of(sae).withErrorTerm(true).hookSet();
        for (Point point : Point.values()) {
            s = s.with(point.at(SaeFixture.HOOK), a -> order.add(a.name().substring(SaeFixture.HOOK.length() + 1) + a.shape()[1]));
        }
        // Zeroing every feature at acts_post leaves only b_dec plus the error term: x − recon_clean + b_dec.
        s = s.with("*.hook_sae_acts_post", a -> java.util.Arrays.fill(a.data(), 0f));
        Activation a = activation();
        fire(s, a);
        assertEquals(List.of("hook_sae_input64", "hook_sae_acts_pre256", "hook_sae_acts_post256", "hook_sae_recons64",
                "hook_sae_error64", "hook_sae_output64"), order);
        float[] recon = SaeFixture.npy("reconstruction.npy").data();
        float[] bDec = sae.bDec();
        for (int i = 0; i < a.data().length; i++) assertEquals(x.data()[i] - recon[i] + bDec[i % 64], a.data()[i], 5e-3f);
    }

    @Test void unknownInternalHookIsRejected() {
        IllegalArgumentException e = assertThrows(UnknownHookException.class,
                () -> SaeSplice.of(sae).hookSet().with(SaeFixture.HOOK + ".hook_sae_acts_psot", a -> {}).bind(POINTS));
        assertTrue(e.getMessage().contains(SaeFixture.HOOK + ".hook_sae_acts_post"), e.getMessage());
    }

    @Test void widthMismatchIsOneLineError() {
        Activation a = new Activation(SaeFixture.HOOK, new int[]{2, 32}, new float[64], 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fire(SaeSplice.of(sae).hookSet(), a));
        assertTrue(e.getMessage().contains("[positions, 64]") && e.getMessage().contains("[2, 32]"), e.getMessage());
    }

    @Test void hookSetsAreRoutedBetweenModelAndSplice() {
        HookPoints points = POINTS;
        List<String> seen = new ArrayList<>();
        HookSet user = HookSet.of(SaeFixture.HOOK + ".hook_sae_acts_post", a -> seen.add(a.name()))
                .with("blocks.1.hook_resid_post", a -> seen.add(a.name()));
        HookSet routed = user.with(SaeSplice.of(sae).withErrorTerm(true).hookSet());
        BoundHooks bound = routed.bind(points);
        assertEquals(points.size() + Point.values().length, bound.points().size());
        Activation r1 = new Activation("blocks.1.hook_resid_post", new int[]{1, 64}, new float[64], 0);
        bound.fire(points.id("blocks.1.hook_resid_post"), r1);
        Activation a = activation();
        bound.fire(points.id(SaeFixture.HOOK), a);
        assertEquals(List.of("blocks.1.hook_resid_post", SaeFixture.HOOK + ".hook_sae_acts_post"), seen);
        assertArrayEquals(x.data(), a.data(), 0f);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HookSet.of(SaeFixture.HOOK + ".hook_sae_act_post", h -> {}).with(SaeSplice.of(sae).hookSet()).bind(points));
        assertTrue(e.getMessage().contains(SaeFixture.HOOK + ".hook_sae_acts_post"), e.getMessage());
        IllegalArgumentException wrongHook = assertThrows(IllegalArgumentException.class,
                () -> SaeSplice.of(sae.withHook("blocks.9.hook_resid_post")).hookSet().bind(points));
        assertTrue(wrongHook.getMessage().contains("blocks.9.hook_resid_post"), wrongHook.getMessage());
    }

    @Test void theSplicesPointsAreListedWithTheModels() {
        HookPoints all = SaeSplice.of(sae).hookSet().points(POINTS);
        assertEquals(POINTS.names(), all.modelNames());
        assertEquals(List.of(SaeFixture.HOOK + ".hook_sae_input", SaeFixture.HOOK + ".hook_sae_acts_pre",
                SaeFixture.HOOK + ".hook_sae_acts_post", SaeFixture.HOOK + ".hook_sae_recons", SaeFixture.HOOK + ".hook_sae_error",
                SaeFixture.HOOK + ".hook_sae_output"), all.names().subList(POINTS.size(), all.size()));
    }
}
