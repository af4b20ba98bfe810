package dev.loupe.sae.fit;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;
import dev.loupe.sae.metrics.ReconstructionStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exemplar SAEs fitted to tiny-a (HF F32) at blocks.2.hook_resid_post on a corpus of ten recurring tokens. */
class ExemplarSaeTest {
    private static final String HOOK = "blocks.2.hook_resid_post";
    private static final int BOS = 2, DOCS = 24, LENGTH = 24, WIDTH = 48, L0 = 6;
    /** Ten ordinary tokens of tiny-a's 384-piece vocabulary. */
    private static final int[] POOL = {277, 128, 93, 379, 70, 125, 248, 303, 247, 334};

    private static Model model;
    private static List<int[]> corpus;
    private static HookSample sample;

    @TempDir Path tmp;

    @BeforeAll static void load() {
        model = Model.load(Fixtures.file("tiny-a/hf"), 2);
        Random r = new Random(11);
        corpus = new ArrayList<>();
        for (int d = 0; d < DOCS; d++) {
            int[] doc = new int[LENGTH];
            doc[0] = BOS;
            for (int p = 1; p < LENGTH; p++) doc[p] = POOL[r.nextInt(POOL.length)];
            corpus.add(doc);
        }
        sample = HookSample.collect(model, HOOK, corpus, Set.of(BOS), Integer.MAX_VALUE);
    }

    @AfterAll static void close() { model.close(); }

    private static Path layout(Path root) { return root.resolve("layer_2").resolve("width_48").resolve("average_l0_6"); }

    private Path fit(long seed, Path dir) throws IOException {
        return ExemplarSae.fit(sample, ExemplarSae.Options.of(WIDTH, L0, seed), model.backend()).write(dir);
    }

    @Test void theSampleHoldsTheHookActivationsOfEveryPositionButBos() {
        assertEquals(DOCS * (LENGTH - 1), sample.rows());
        assertEquals(64, sample.width());
        Activation a = model.run(corpus.get(3), RunOptions.caching(HOOK)).cache().get(HOOK);
        int row = 3 * (LENGTH - 1) + 4;
        assertEquals(3, sample.documents()[row]);
        assertEquals(5, sample.positions()[row]);
        assertEquals(corpus.get(3)[5], sample.tokens()[row]);
        // Not bit-exact: with two threads tiny-a's first forward passes in a JVM differ from later ones by ~1e-4.
        assertArrayEquals(Arrays.copyOfRange(a.data(), 5 * 64, 6 * 64), Arrays.copyOfRange(sample.data(), row * 64, (row + 1) * 64), 1e-3f);
        HookSample capped = HookSample.collect(model, HOOK, corpus, Set.of(BOS), 30);
        assertEquals(30, capped.rows());
        assertEquals(1, capped.documents()[29]);
    }

    @Test void theArchiveIsAGemmaScopeJumpReluSaeWithUnitDecoderRowsAndBDecFolded() throws IOException {
        Path dir = layout(tmp);
        fit(1, dir);
        assertFalse(Files.exists(dir.resolve("params.npz.partial")));
        try (Sae sae = Sae.load(dir, model.backend())) {
            assertEquals(HOOK, sae.hookName());
            assertEquals(64, sae.dIn());
            assertEquals(WIDTH, sae.dSae());
            double[] mean = new double[64];
            for (int p = 0; p < sample.rows(); p++) for (int i = 0; i < 64; i++) mean[i] += sample.data()[p * 64 + i] / (double) sample.rows();
            float[] bDec = sae.bDec(), bEnc = sae.bEnc(), threshold = sae.threshold();
            for (int i = 0; i < 64; i++) assertEquals(mean[i], bDec[i], 1e-4 * (1 + Math.abs(mean[i])), "b_dec is the mean");
            for (int f = 0; f < WIDTH; f++) {
                double norm = 0, encNorm = 0, dot = 0, folded = 0;
                for (int i = 0; i < 64; i++) {
                    float dec = sae.decoderWeight().get((long) f * 64 + i), enc = sae.encoderWeight().get((long) i * WIDTH + f);
                    norm += dec * dec;
                    encNorm += enc * enc;
                    dot += dec * enc;
                    folded += bDec[i] * enc;
                }
                assertEquals(1, norm, 1e-5, "W_dec[" + f + "] is a unit vector");
                // W_enc[:, f] = s_f W_dec[f] with s_f ≥ 0: the two are parallel, never opposite.
                assertEquals(Math.sqrt(encNorm), dot, 1e-4 * (1 + Math.sqrt(encNorm)), "W_enc[:, " + f + "] is along W_dec[" + f + "]");
                assertEquals(-folded, bEnc[f], 1e-4 * (1 + Math.abs(folded)), "b_enc[" + f + "] = -b_dec·W_enc[:, " + f + "]");
                assertTrue(threshold[f] >= 0, "threshold[" + f + "] = " + threshold[f]);
            }
        }
    }

    @Test void onItsCorpusTheSaeFiresAboutTheTargetL0AndReconstructsWell() throws IOException {
        ExemplarSae fitted = ExemplarSae.fit(sample, ExemplarSae.Options.of(WIDTH, L0, 1), model.backend());
        Path dir = layout(tmp);
        fitted.write(dir);
        try (Sae sae = Sae.load(dir, model.backend())) {
            SparseFeatures f = sae.encode(sample.data(), sample.rows());
            ReconstructionStats stats = new ReconstructionStats(64);
            stats.add(sample.data(), sae.decode(f), sample.rows());
            stats.addL0(f.l0());
            // Thresholds give every feature L0·rows/width firings; only features left dead lower the mean.
            assertEquals(L0, stats.meanL0(), 0.5);
            assertTrue(stats.fvu() < 0.75, "FVU " + stats.fvu());
            assertEquals(stats.meanL0(), fitted.stats().meanL0(), 0.02, "the fit's own L0 is what encode gives");
            assertEquals(stats.fvu(), fitted.stats().fvu(), 1e-3, "the fit's own FVU is what encode/decode give");
        }
    }

    @Test void theSameSeedWritesTheSameBytesAndAnotherSeedAnotherDictionary() throws IOException {
        byte[] a = Files.readAllBytes(fit(5, tmp.resolve("a")));
        byte[] b = Files.readAllBytes(fit(5, tmp.resolve("b")));
        byte[] c = Files.readAllBytes(fit(6, tmp.resolve("c")));
        assertArrayEquals(a, b);
        assertNotEquals(Arrays.hashCode(a), Arrays.hashCode(c));
    }

    @Test void eachFeaturesStrongestPositionsShareOneToken() throws IOException {
        Path dir = layout(tmp);
        fit(1, dir);
        try (Sae sae = Sae.load(dir, model.backend())) {
            float[] dense = sae.encode(sample.data(), sample.rows()).dense();
            int n = sample.rows(), live = 0, pure = 0;
            for (int f = 0; f < WIDTH; f++) {
                final int feature = f;
                Integer[] rows = new Integer[n];
                for (int p = 0; p < n; p++) rows[p] = p;
                Arrays.sort(rows, (x, y) -> Float.compare(dense[y * WIDTH + feature], dense[x * WIDTH + feature]));
                if (dense[rows[4] * WIDTH + f] <= 0) continue;
                live++;
                Map<Integer, Integer> counts = new HashMap<>();
                for (int t = 0; t < 5; t++) counts.merge(sample.tokens()[rows[t]], 1, Integer::sum);
                if (counts.values().stream().mapToInt(Integer::intValue).max().orElseThrow() >= 3) pure++;
            }
            assertTrue(live >= WIDTH * 3 / 4, live + " of " + WIDTH + " features fire on at least 5 positions");
            // By chance (five draws from ten equally frequent tokens) one token holds 3 of 5 about 9% of the time.
            assertTrue(pure >= live * 3 / 4, pure + " of " + live + " live features have one token in 3 of their top 5 positions");
        }
    }

    @Test void aWidthBeyondTheSampleIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExemplarSae.fit(sample, ExemplarSae.Options.of(sample.rows() + 1, 4, 1), model.backend()));
        assertTrue(e.getMessage().contains("use a larger corpus or a smaller width"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ExemplarSae.Options.of(8, 9, 1));
        assertThrows(IllegalArgumentException.class, () -> HookSample.collect(model, HOOK, List.of(new int[]{BOS}), Set.of(BOS), 10));
    }
}
