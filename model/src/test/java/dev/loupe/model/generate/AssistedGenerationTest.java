package dev.loupe.model.generate;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ActivationCache;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Generation;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.Model;
import dev.loupe.model.Session;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.weights.SameWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Assisted generation against the target alone. The target is tiny-a; one draft is tiny-a quantized to Q4_0 by
 * llama.cpp (close to the target: most drafts kept, some rejected), another has the same shape with unrelated random
 * weights at initializer size ({@code SameWeights} scaled by 1/16: a near-uniform distribution, nearly every draft
 * rejected), so both the accepting and the correcting paths run.
 */
class AssistedGenerationTest {
    @TempDir static Path tmp;
    static Model target, close, unrelated;
    static int[] prompt;
    /** No stop tokens: tiny-a's random weights would stop at a random <eos>. */
    static final Set<Integer> NO_STOPS = Set.of();

    @BeforeAll
    static void load() throws Exception {
        target = Model.load(Fixtures.file("tiny-a/hf"), 1);
        close = Model.load(Fixtures.file("tiny-a/quantized/tiny-a-q4_0.gguf"), 1);
        SameWeights.random(target.config(), 7, 1f / 16).writeHf(tmp.resolve("unrelated"), DType.F32);
        unrelated = Model.load(tmp.resolve("unrelated"), 1);
        prompt = Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints();
    }

    @AfterAll
    static void close() {
        for (Model m : new Model[]{target, close, unrelated}) if (m != null) m.close();
    }

    static Generation greedy(int n) { return Generation.greedy(n).withStops(NO_STOPS); }

    @Test
    void greedyOutputIsTheTargetsOwn() {
        int[] plain = target.generate(prompt, greedy(40), HookSet.empty(), null).generated();
        for (Model draft : new Model[]{close, unrelated}) {
            for (int k : new int[]{1, 3, 6}) {
                AssistedGeneration.Result r = new AssistedGeneration(target, draft, k).generate(prompt, greedy(40), HookSet.empty(), null);
                assertArrayEquals(plain, r.generation().generated(), "K=" + k);
                assertTrue(r.stats().drafted() > 0);
                assertTrue(r.stats().targetPasses() < 41, "fewer target passes than tokens: " + r.stats());
            }
        }
        // Without stops given, both stop at the model's eos ids.
        assertArrayEquals(target.generate(prompt, Generation.greedy(20), HookSet.empty(), null).generated(),
                new AssistedGeneration(target, close, 3).generate(prompt, Generation.greedy(20), HookSet.empty(), null).generation().generated());
        AssistedGeneration.Stats closeStats = new AssistedGeneration(target, close, 4).generate(prompt, greedy(40), HookSet.empty(), null).stats();
        AssistedGeneration.Stats farStats = new AssistedGeneration(target, unrelated, 4).generate(prompt, greedy(40), HookSet.empty(), null).stats();
        assertTrue(closeStats.accepted() < closeStats.drafted() || farStats.accepted() < farStats.drafted(), "some drafts must be rejected");
        assertTrue(closeStats.acceptanceRate() > farStats.acceptanceRate(), closeStats + " vs " + farStats);
    }

    @Test
    void stopTokensAndMaxTokensEndWhereThePlainRunEnds() {
        // Stop at the plain run's 9th token: the assisted run must stop there too, even inside a kept draft.
        int[] plain = target.generate(prompt, greedy(30), HookSet.empty(), null).generated();
        Generation stopping = greedy(30).withStops(Set.of(plain[8]));
        GenerationResult expected = target.generate(prompt, stopping, HookSet.empty(), null);
        for (int k : new int[]{1, 4}) {
            GenerationResult r = new AssistedGeneration(target, close, k).generate(prompt, stopping, HookSet.empty(), null).generation();
            assertArrayEquals(expected.generated(), r.generated(), "K=" + k);
            assertEquals(expected.stoppedAt(), r.stoppedAt());
            for (int n : new int[]{0, 1, 2, 6}) {
                assertArrayEquals(target.generate(prompt, greedy(n), HookSet.empty(), null).generated(),
                        new AssistedGeneration(target, close, k).generate(prompt, greedy(n), HookSet.empty(), null).generation().generated(), "max " + n);
            }
        }
    }

    /** A caching hook sees the same firings (positions, shapes, values) as in a plain run: once per kept position. */
    @Test
    void readingHooksFireOncePerKeptPosition() {
        List<String> points = List.of("hook_embed", "blocks.1.hook_resid_post", "blocks.0.attn.hook_pattern",
                "blocks.2.attn.hook_attn_scores", "blocks.3.mlp.hook_post", "ln_final.hook_normalized");
        ActivationCache plain = new ActivationCache();
        int[] expected = target.generate(prompt, greedy(25), plain.hooksFor(points), null).generated();
        for (Model draft : new Model[]{close, unrelated}) {
            ActivationCache assisted = new ActivationCache();
            AssistedGeneration.Result r = new AssistedGeneration(target, draft, 4).generate(prompt, greedy(25), assisted.hooksFor(points), null);
            assertArrayEquals(expected, r.generation().generated());
            assertTrue(r.stats().accepted() > 0 || draft == unrelated);
            for (String name : points) {
                List<Activation> a = assisted.firings(name), b = plain.firings(name);
                assertEquals(b.size(), a.size(), name + ": firings");
                for (int i = 0; i < b.size(); i++) {
                    assertEquals(b.get(i).firstPosition(), a.get(i).firstPosition(), name + " firing " + i);
                    assertArrayEquals(b.get(i).shape(), a.get(i).shape(), name + " firing " + i);
                    assertClose(b.get(i).data(), a.get(i).data(), name + " firing " + i);
                }
            }
        }
    }

    /** Batched and one-row kernels sum in different orders: equal to float rounding, relative to the tensor's largest value. */
    private static void assertClose(float[] expected, float[] actual, String what) {
        float max = 0;
        for (float v : expected) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * Math.max(1, max), what + " [" + i + "]");
        }
    }

    @Test
    void aReplacingHookTurnsTheDraftOffAndKeepsItsEffect() {
        float[] push = new float[target.config().hiddenSize()];
        for (int i = 0; i < push.length; i++) push[i] = (i % 3 == 0) ? 4f : -1f;
        HookSet steer = HookSet.of("blocks.1.hook_resid_post", a -> a.addToEveryRow(push, 1f));
        int[] expected = target.generate(prompt, greedy(20), steer, null).generated();
        AssistedGeneration.Result r = new AssistedGeneration(target, close, 4).generate(prompt, greedy(20), steer, null);
        assertArrayEquals(expected, r.generation().generated());
        assertEquals(0, r.stats().drafted());
    }

    /**
     * Sampling keeps the target's distribution: the second token (the first one that goes through drafting, K=1,
     * drawn after the first from the target) is distributed as {@code Σ p(t1) p(t2 | t1)}, computed exactly from the
     * target's logits, within sampling error; with the unrelated draft almost every draft is rejected and the token
     * comes from the residual {@code max(0, p - q)}.
     */
    @Test
    void samplingFollowsTheTargetsDistribution() {
        Generation g = new Generation(3, 0.7f, 3, 1f, 0, NO_STOPS);
        Sampler s = new Sampler(g);
        Map<Long, Double> exact = new HashMap<>();
        try (Session t = target.newSession()) {
            BoundHooks none = BoundHooks.none(target.hookPoints());
            double[] p1 = s.distribution(t.process(prompt, none, -1, 1));
            for (int t1 = 0; t1 < p1.length; t1++) {
                if (p1[t1] == 0) continue;
                double[] p2 = s.distribution(t.process(new int[]{t1}, none, -1, 1));
                t.rewind(prompt.length);
                for (int t2 = 0; t2 < p2.length; t2++) if (p2[t2] > 0) exact.merge(pair(t1, t2), p1[t1] * p2[t2], Double::sum);
            }
        }
        for (Model draft : new Model[]{close, unrelated}) {
            int n = 1500;
            Map<Long, Integer> seen = new HashMap<>();
            int drafted = 0, accepted = 0;
            for (int seed = 0; seed < n; seed++) {
                Generation gs = new Generation(3, 0.7f, 3, 1f, seed, NO_STOPS);
                AssistedGeneration.Result r = new AssistedGeneration(target, draft, 1).generate(prompt, gs, HookSet.empty(), null);
                int[] out = r.generation().generated();
                seen.merge(pair(out[0], out[1]), 1, Integer::sum);
                drafted += r.stats().drafted();
                accepted += r.stats().accepted();
            }
            double tv = 0;
            for (Map.Entry<Long, Double> e : exact.entrySet()) tv += Math.abs(e.getValue() - seen.getOrDefault(e.getKey(), 0) / (double) n);
            for (Long key : seen.keySet()) assertTrue(exact.containsKey(key), "drew a pair the target cannot produce");
            // 9 outcomes, 1500 draws: the total variation distance of a correct sampler is ~0.03; one that kept the
            // draft's tokens would draw pairs outside the target's top-3 with the unrelated draft.
            assertTrue(tv / 2 < 0.06, "total variation " + tv / 2 + " (drafted " + drafted + ", kept " + accepted + ")");
            if (draft == unrelated) assertTrue(accepted < drafted / 2, "the unrelated draft should mostly be rejected: " + accepted + "/" + drafted);
        }
    }

    private static long pair(int a, int b) { return ((long) a << 32) | b; }

    @Test
    void aDraftWithAnotherVocabularyIsRefused() throws Exception {
        var other = target.config().withVocabSize(100);
        SameWeights.random(other, 1).writeHf(tmp.resolve("other-vocab"), DType.F32);
        try (Model small = Model.load(tmp.resolve("other-vocab"), 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AssistedGeneration(target, small, 3));
            assertTrue(e.getMessage().contains("vocabulary"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new AssistedGeneration(target, close, 0));
    }
}
