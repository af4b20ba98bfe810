package dev.loupe.sae;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Steering hooks bound against a 4-layer model's registry and fired by id, as the forward pass does. */
class SteeringTest {
    private static final HookPoints POINTS = new HookPoints(4);
    private static Sae sae;

    private static void fire(HookSet hooks, Activation a) { hooks.bind(POINTS).fire(POINTS.id(a.name()), a); }

    @BeforeAll static void load() { sae = SaeFixture.load(); }

    @AfterAll static void close() { sae.close(); }

    @Test void addsAlphaTimesTheDecoderRowAtEveryPosition() {
        float[] data = new float[3 * 64];
        for (int i = 0; i < data.length; i++) data[i] = i * 0.01f;
        Activation a = new Activation(SaeFixture.HOOK, new int[]{3, 64}, data.clone(), 0);
        fire(Steering.add(sae, 11, 2.5f).hookSet(), a);
        for (int p = 0; p < 3; p++) {
            for (int i = 0; i < 64; i++) {
                assertEquals(data[p * 64 + i] + 2.5f * sae.decoderWeight().get(11L * 64 + i), a.data()[p * 64 + i], 1e-6f);
            }
        }
    }

    @Test void severalFeaturesAddUp() {
        Steering s = Steering.add(sae, Map.of(1, 2f, 200, -3f));
        float[] v = s.vector();
        for (int i = 0; i < 64; i++) {
            float expected = 2f * sae.decoderWeight().get(64 + i) - 3f * sae.decoderWeight().get(200L * 64 + i);
            assertEquals(expected, v[i], 1e-6f);
        }
        assertEquals(SaeFixture.HOOK, s.hookName());
    }

    @Test void fromPositionSkipsEarlierRowsAcrossCalls() {
        Steering s = Steering.add(sae, 0, 1f).fromPosition(5);
        Activation prompt = new Activation(SaeFixture.HOOK, new int[]{6, 64}, new float[6 * 64], 0);
        fire(s.hookSet(), prompt);
        for (int i = 0; i < 5 * 64; i++) assertEquals(0f, prompt.data()[i]);
        assertEquals(sae.direction(0)[3], prompt.data()[5 * 64 + 3]);
        Activation step = new Activation(SaeFixture.HOOK, new int[]{1, 64}, new float[64], 6);
        fire(s.hookSet(), step);
        assertEquals(sae.direction(0)[3], step.data()[3]);
    }

    @Test void givenVectorAtANamedHook() {
        Steering s = Steering.addVector("blocks.0.hook_resid_pre", sae.direction(5), 4f);
        assertEquals("blocks.0.hook_resid_pre", s.hookName());
        for (int i = 0; i < 64; i++) assertEquals(4f * sae.direction(5)[i], s.vector()[i], 0f);
        assertEquals(Map.of(), s.strengths());
    }

    @Test void wrongWidthIsRejected() {
        Activation a = new Activation(SaeFixture.HOOK, new int[]{1, 8}, new float[8], 0);
        assertThrows(IllegalArgumentException.class, () -> fire(Steering.add(sae, 0, 1f).hookSet(), a));
        assertThrows(IllegalArgumentException.class, () -> Steering.add(sae, 256, 1f));
    }
}
