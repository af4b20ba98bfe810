package dev.loupe.model;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookSet;
import dev.loupe.hooks.UnknownHookException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Hook points in the real forward pass: reading, replacing, stopping early, generation steps, bad names. */
class HookPointsTest {
    static GemmaModel model;
    static int[] tokens;

    @BeforeAll
    static void load() {
        model = GemmaModel.load(Fixtures.file("tiny-a/hf"), 2);
        tokens = Fixtures.npy(Fixtures.file("tiny-a/tokens.npy")).ints();
    }

    @AfterAll
    static void close() { model.close(); }

    @Test
    void replacingHookMovesTheResidualByExactlyTheVectorAndChangesLaterLayers() {
        int d = model.config().hiddenSize();
        float[] vec = new float[d];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < d; i++) vec[i] = (float) r.nextDouble(-2, 2);
        RunOptions cache = RunOptions.caching("blocks.1.hook_resid_post", "blocks.2.hook_resid_post");
        RunResult clean = model.run(tokens, cache);
        RunResult steered = model.run(tokens, cache.withHook("blocks.1.hook_resid_post", a -> a.addToEveryRow(vec, 1f)));

        float[] c1 = clean.cache().get("blocks.1.hook_resid_post").data();
        float[] s1 = steered.cache().get("blocks.1.hook_resid_post").data();
        for (int i = 0; i < c1.length; i++) assertEquals(c1[i] + vec[i % d], s1[i], 0f, "element " + i);

        float[] c2 = clean.cache().get("blocks.2.hook_resid_post").data();
        float[] s2 = steered.cache().get("blocks.2.hook_resid_post").data();
        assertTrue(maxAbsDiff(c2, s2) > 0.1f, "layer 2 should change");
        assertTrue(maxAbsDiff(clean.logits(), steered.logits()) > 0.1f, "logits should change");
    }

    @Test
    void patternRowsSumToOneAreCausalAndRespectTheWindowOnEvenLayers() {
        RunResult r = model.run(tokens, RunOptions.caching("blocks.*.attn.hook_pattern"));
        int window = model.config().slidingWindow();
        for (int l = 0; l < model.config().numLayers(); l++) {
            Activation p = r.cache().get("blocks." + l + ".attn.hook_pattern");
            int heads = p.shape()[0], q = p.shape()[1], k = p.shape()[2];
            assertEquals(model.config().numHeads(), heads);
            assertEquals(tokens.length, q);
            assertEquals(tokens.length, k);
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < q; i++) {
                    double sum = 0;
                    for (int j = 0; j < k; j++) {
                        float v = p.data()[(h * q + i) * k + j];
                        sum += v;
                        if (j > i) assertEquals(0f, v, "layer " + l + " future key " + j + " from query " + i);
                        if (l % 2 == 0 && i - j >= window) assertEquals(0f, v, "layer " + l + " key " + j + " outside window of " + i);
                        if (l % 2 == 1 && j <= i) assertTrue(v > 0f, "global layer " + l + " sees key " + j + " from " + i);
                    }
                    assertEquals(1.0, sum, 1e-5, "layer " + l + " head " + h + " row " + i);
                }
            }
        }
    }

    @Test
    void materialisingThePatternDoesNotChangeTheOutput() {
        RunResult fast = model.run(tokens, RunOptions.defaults());
        RunResult watched = model.run(tokens, RunOptions.defaults().withHook("blocks.*.attn.hook_attn_scores", a -> { }));
        // Both paths compute the same formula in the same order, and the softcap's tanh gives the same bits in a
        // row's vector body and scalar tail (it used to differ there by an ulp, ~3e-4 in these logits).
        assertArrayEquals(fast.logits(), watched.logits());
    }

    @Test
    void runStoppedAfterALayerGivesTheSameResidualAsTheFullRun() {
        RunResult full = model.run(tokens, RunOptions.caching("blocks.1.hook_resid_post"));
        RunResult stopped = model.run(tokens, RunOptions.caching("blocks.1.hook_resid_post").stopAfter(1));
        assertNull(stopped.logits());
        assertArrayEquals(full.cache().get("blocks.1.hook_resid_post").data(), stopped.cache().get("blocks.1.hook_resid_post").data());
        assertFalse(stopped.cache().contains("blocks.2.hook_resid_post"));
    }

    @Test
    void hooksFireOnThePromptAndOnEveryGenerationStep() {
        List<Integer> firsts = new ArrayList<>();
        List<Integer> rows = new ArrayList<>();
        int[] prompt = java.util.Arrays.copyOf(tokens, 10);
        GenerationResult g = model.generate(prompt, Generation.greedy(6).withStops(java.util.Set.of()),
                HookSet.of("blocks.3.hook_resid_post", a -> { firsts.add(a.firstPosition()); rows.add(a.positions()); }), null);
        assertEquals(6, g.generated().length);
        assertEquals(List.of(0, 10, 11, 12, 13, 14), firsts);
        assertEquals(List.of(10, 1, 1, 1, 1, 1), rows);
    }

    @Test
    void unknownHookNamesFailWithTheClosestValidNames() {
        UnknownHookException e = assertThrows(UnknownHookException.class,
                () -> model.run(tokens, RunOptions.caching("blocks.1.hook_resid_pots")));
        assertTrue(e.getMessage().contains("blocks.1.hook_resid_post"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        UnknownHookException e2 = assertThrows(UnknownHookException.class,
                () -> model.run(tokens, RunOptions.caching("blocks.9.hook_resid_post")));
        assertTrue(e2.getMessage().contains("closest valid names"), e2.getMessage());
    }

    static float maxAbsDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
