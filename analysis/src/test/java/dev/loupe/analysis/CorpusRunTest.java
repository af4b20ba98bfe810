package dev.loupe.analysis;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.model.io.Npy;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Corpus runs on the tiny-a fixture model and SAE: what the shards hold, summaries, several SAEs, the store, and an Arrow JS reader. */
class CorpusRunTest {
    @TempDir static Path tmp;
    static Model model;
    static Sae sae;
    static Path corpus, textRun;
    static final int CONTEXT = 16;
    static final IndexOptions OPTIONS = IndexOptions.defaults().withContext(CONTEXT).withShardTokens(40);

    @BeforeAll static void textRun() throws IOException {
        model = TinyA.model();
        sae = TinyA.sae(model, TinyA.HOOK);
        corpus = TinyA.writeText(tmp);
        textRun = tmp.resolve("text-run");
        TinyA.index(model, List.of(sae), corpus, textRun, OPTIONS);
    }

    @AfterAll static void close() {
        sae.close();
        model.close();
    }

    /** The shards against the fixture's feature_acts.npy (numpy, float64) for the fixture's own 40 tokens. */
    @Test void shardsMatchTheFixturesFeatureActivations() throws IOException {
        Path dir = Fixtures.file("tiny-a/sae");
        Npy.Array acts = Npy.read(dir.resolve("feature_acts.npy"));
        int[] ids = Npy.read(Fixtures.file("tiny-a/tokens.npy")).ints();
        int positions = acts.shape()[0], dSae = acts.shape()[1];
        Path jsonl = tmp.resolve("fixture.jsonl");
        Files.writeString(jsonl, "{\"tokens\": " + Arrays.toString(ids) + "}\n");
        Path run = tmp.resolve("fixture-run");
        TinyA.index(model, List.of(sae), jsonl, run, IndexOptions.defaults().withContext(64));
        TreeMap<Long, Map<Integer, Float>> rows = RunFiles.activations(run);
        assertEquals(positions, rows.size(), "every fixture token has active features");
        int checked = 0;
        for (int p = 0; p < positions; p++) {
            Map<Integer, Float> at = rows.getOrDefault((long) p, Map.of());
            for (int f = 0; f < dSae; f++) {
                float want = acts.data()[p * dSae + f];
                Float have = at.get(f);
                if (want == 0f) {
                    assertEquals(null, have, "pos " + p + " feature " + f + " should be inactive");
                } else {
                    assertTrue(have != null, "pos " + p + " feature " + f + " should be active (" + want + ")");
                    assertEquals(want, have, 2e-4f * Math.max(1f, Math.abs(want)), "pos " + p + " feature " + f);
                    checked++;
                }
            }
        }
        assertEquals(Math.round(acts.data().length * 0.083203125), checked, "the manifest's firing fraction");
    }

    /** Each window's rows equal encode() of that window's tokens (window j > 0 = <bos> + its tokens, <bos> row dropped). */
    @Test void shardsEqualEncodeOfEachWindow() throws IOException {
        TreeMap<Long, Map<Integer, Float>> rows = RunFiles.activations(textRun);
        Map<String, double[]> tokens = RunFiles.columns(textRun.resolve("tokens.arrow"));
        int bos = model.config().bosId();
        long compared = 0;
        for (int d = 0; d < TinyA.TEXT.size(); d++) {
            int[] ids = model.tokenizer().encode(TinyA.TEXT.get(d), true);
            for (int w = 0; CorpusIndexer.windowStart(w, CONTEXT) < ids.length; w++) {
                int a = CorpusIndexer.windowStart(w, CONTEXT), b = Math.min(ids.length, w == 0 ? CONTEXT : a + CONTEXT - 1);
                int skip = w == 0 ? 0 : 1;
                int[] input = new int[b - a + skip];
                input[0] = bos;
                System.arraycopy(ids, a, input, skip, b - a);
                Activation act = model.activation(input, TinyA.HOOK);
                SparseFeatures f = sae.encode(act);
                for (int p = a; p < b; p++) {
                    Map<Integer, Float> want = new HashMap<>();
                    int[] fid = f.ids(p - a + skip);
                    float[] val = f.values(p - a + skip);
                    for (int i = 0; i < fid.length; i++) want.put(fid[i], val[i]);
                    assertEquals(want, rows.getOrDefault(((long) d << 32) | p, Map.of()), "doc " + d + " pos " + p);
                    compared++;
                }
            }
        }
        assertEquals(rows.size(), compared, "no rows beyond the corpus tokens");
        assertEquals(compared, tokens.get("token_id").length);
    }

    @Test void tokensAndDocumentsDescribeTheCorpus() throws IOException {
        Map<String, double[]> t = RunFiles.columns(textRun.resolve("tokens.arrow"));
        Map<String, double[]> docs = RunFiles.columns(textRun.resolve("documents.arrow"));
        int row = 0;
        for (int d = 0; d < TinyA.TEXT.size(); d++) {
            int[] ids = model.tokenizer().encode(TinyA.TEXT.get(d), true);
            assertEquals(row, docs.get("token_offset")[d]);
            assertEquals(ids.length, docs.get("token_count")[d]);
            for (int p = 0; p < ids.length; p++, row++) {
                assertEquals(d, t.get("doc_id")[row]);
                assertEquals(p, t.get("pos")[row]);
                assertEquals(ids[p], t.get("token_id")[row]);
            }
        }
        assertEquals(row, t.get("pos").length);
    }

    /** fire count, max, mean and the histogram against sums done here over the shard rows. */
    @Test void featureSummariesAgreeWithTheShards() throws IOException {
        TreeMap<Long, Map<Integer, Float>> rows = RunFiles.activations(textRun);
        long[] fire = new long[sae.dSae()];
        double[] sum = new double[sae.dSae()];
        float[] max = new float[sae.dSae()];
        for (Map<Integer, Float> at : rows.values()) {
            at.forEach((f, v) -> {
                fire[f]++;
                sum[f] += v;
                max[f] = Math.max(max[f], v);
            });
        }
        long tokens = RunFiles.columns(textRun.resolve("tokens.arrow")).get("pos").length;
        try (FeatureStore store = FeatureStore.open(textRun, null, model.tokenizer())) {
            assertEquals(sae.dSae(), store.featureCount());
            for (int f = 0; f < sae.dSae(); f++) {
                FeatureSummary s = store.summary(f);
                assertEquals(fire[f], s.fireCount(), "feature " + f);
                assertEquals((double) fire[f] / tokens, s.density(), 1e-12);
                assertEquals(max[f], s.maxActivation());
                assertEquals(fire[f] == 0 ? 0 : sum[f] / fire[f], s.meanActivation(), 1e-4);
                Histogram h = store.histogram(f);
                assertEquals(fire[f], h.total());
                for (int b = 0; b + 1 < h.edges().length; b++) assertTrue(h.edges()[b] < h.edges()[b + 1]);
                if (fire[f] > 0) {
                    assertTrue(h.edges()[0] <= max[f] && max[f] <= h.edges()[h.edges().length - 1] * 1.0001, "max inside the bins");
                }
            }
        }
    }

    /** W_dec[f]·W_U computed here, in double, from the SAE's decoder rows and the embedding. */
    @Test void logitTablesAreDecoderTimesEmbedding() throws IOException {
        try (FeatureStore store = FeatureStore.open(textRun, null, model.tokenizer())) {
            for (int f : new int[]{0, 17, 255}) {
                float[] dir = new float[sae.dIn()];
                sae.decoderWeight().readRow(f, dir, 0);
                int vocab = model.config().vocabSize();
                double[] logits = new double[vocab];
                float[] e = new float[sae.dIn()];
                for (int t = 0; t < vocab; t++) {
                    model.weights().embedding().readRow(t, e, 0);
                    for (int i = 0; i < e.length; i++) logits[t] += (double) dir[i] * e[i];
                }
                Integer[] order = new Integer[vocab];
                for (int i = 0; i < vocab; i++) order[i] = i;
                Arrays.sort(order, Comparator.comparingDouble(i -> -logits[i]));
                FeatureSummary s = store.summary(f);
                assertEquals(10, s.topPromoted().size());
                for (int k = 0; k < 10; k++) {
                    assertEquals(logits[order[k]], s.topPromoted().get(k).value(), 1e-4, "feature " + f + " promoted " + k);
                    assertEquals(logits[order[vocab - 1 - k]], s.topSuppressed().get(k).value(), 1e-4, "feature " + f + " suppressed " + k);
                    assertEquals(model.tokenizer().tokenText(s.topPromoted().get(k).id()), s.topPromoted().get(k).text());
                }
            }
        }
    }

    @Test void cardsExamplesAndQueries() throws IOException {
        TreeMap<Long, Map<Integer, Float>> rows = RunFiles.activations(textRun);
        try (FeatureStore store = FeatureStore.open(textRun, null, model.tokenizer())) {
            FeaturePage page = store.features(FeatureQuery.all().sortBy(FeatureColumn.FIRE_COUNT).descending().page(0, 5));
            assertEquals(sae.dSae(), page.total());
            int busiest = page.rows().getFirst().featureId();
            for (int i = 1; i < page.rows().size(); i++) assertTrue(page.rows().get(i - 1).fireCount() >= page.rows().get(i).fireCount());
            FeatureCard card = store.card(busiest, 3);
            List<Example> top = card.examples().stream().filter(e -> e.kind().equals("top")).toList();
            assertFalse(top.isEmpty());
            float previous = Float.POSITIVE_INFINITY;
            for (Example e : card.examples()) {
                float want = rows.get(((long) e.docId() << 32) | e.pos()).get(busiest);
                assertEquals(want, e.activation(), "example activation is the shard's value");
                ContextToken centre = e.window().stream().filter(t -> t.pos() == e.pos()).findFirst().orElseThrow();
                assertEquals(e.activation(), centre.activation());
                for (ContextToken t : e.window()) {
                    Float v = rows.getOrDefault(((long) e.docId() << 32) | t.pos(), Map.of()).get(busiest);
                    assertEquals(v == null ? 0f : v, t.activation(), "window token " + t.pos());
                    assertEquals(model.tokenizer().tokenText(t.tokenId()), t.text());
                }
                assertTrue(e.window().size() <= 7);
                if (e.kind().equals("top")) {
                    assertTrue(e.activation() <= previous);
                    previous = e.activation();
                }
            }
            assertEquals(store.summary(busiest).maxActivation(), top.getFirst().activation());
            // quantile examples sit below the top ones and are labelled with their band
            for (Example e : card.examples()) if (!e.kind().equals("top")) assertTrue(e.kind().matches("quantile_[1-5]"));
            // top features at a token: its rows, strongest first
            Map<Integer, Float> at = rows.get((2L << 32) | 5);
            List<FeatureActivation> tf = store.topFeaturesAt(2, 5, 1000);
            assertEquals(at.size(), tf.size());
            for (FeatureActivation fa : tf) assertEquals(at.get(fa.featureId()), fa.activation());
            for (int i = 1; i < tf.size(); i++) assertTrue(tf.get(i - 1).activation() >= tf.get(i).activation());
            // density filter and promoted-token match
            FeaturePage dense = store.features(FeatureQuery.all().densityBetween(0.1, 1).page(0, 1000));
            for (FeatureSummary s : dense.rows()) assertTrue(s.density() >= 0.1);
            String token = store.summary(busiest).topPromoted().getFirst().text().strip();
            if (!token.isEmpty()) {
                List<FeatureSummary> matches = store.promotedTokenMatches(token, 1000);
                assertTrue(matches.stream().anyMatch(s -> s.featureId() == busiest));
                for (FeatureSummary s : matches) {
                    assertTrue(s.topPromoted().stream().anyMatch(t -> t.text().strip().toLowerCase().contains(token.toLowerCase())));
                }
            }
            assertThrows(IllegalArgumentException.class, () -> store.summary(sae.dSae()));
        }
    }

    @Test void nearestByDecoderIsTheLargestCosine() throws IOException {
        int f = 42;
        int n = sae.dSae(), d = sae.dIn();
        float[][] rows = new float[n][d];
        for (int r = 0; r < n; r++) sae.decoderWeight().readRow(r, rows[r], 0);
        double[] cos = new double[n];
        for (int r = 0; r < n; r++) {
            double dot = 0, a = 0, b = 0;
            for (int i = 0; i < d; i++) {
                dot += rows[r][i] * (double) rows[f][i];
                a += rows[r][i] * (double) rows[r][i];
                b += rows[f][i] * (double) rows[f][i];
            }
            cos[r] = r == f ? Double.NEGATIVE_INFINITY : dot / Math.sqrt(a * b);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> -cos[i]));
        try (FeatureStore store = FeatureStore.open(textRun, null, model.tokenizer())) {
            List<Neighbour> nn = store.nearestByDecoder(sae, f, 5);
            assertEquals(5, nn.size());
            for (int k = 0; k < 5; k++) {
                assertEquals(order[k], nn.get(k).featureId());
                assertEquals(cos[order[k]], nn.get(k).cosine(), 1e-5);
            }
        }
    }

    /** Search via inference on the fixture tokens against feature_acts.npy. */
    @Test void inferenceSearchFindsTheStrongestFeatures() throws IOException {
        Npy.Array acts = Npy.read(Fixtures.file("tiny-a/sae/feature_acts.npy"));
        int[] ids = Npy.read(Fixtures.file("tiny-a/tokens.npy")).ints();
        int dSae = acts.shape()[1];
        float[] best = new float[dSae];
        for (int p = 1; p < ids.length; p++) for (int f = 0; f < dSae; f++) best[f] = Math.max(best[f], acts.data()[p * dSae + f]);
        Integer[] order = new Integer[dSae];
        for (int i = 0; i < dSae; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> -best[i]));
        InferenceSearch.Result r = InferenceSearch.of(model, sae).search(ids, 5);
        assertEquals(ids.length, r.tokens().size());
        for (int k = 0; k < 5; k++) {
            assertEquals(order[k], r.overall().get(k).featureId());
            assertEquals(best[order[k]], r.overall().get(k).activation(), 2e-4f * Math.max(1, best[order[k]]));
        }
        int p = 7, top = r.tokens().get(p).features().getFirst().featureId();
        for (int f = 0; f < dSae; f++) assertTrue(acts.data()[p * dSae + f] <= acts.data()[p * dSae + top] + 1e-4f);
    }

    /**
     * SAEs at layers 0 and 2 in one pass: each SAE's folder holds what its own single-SAE run holds, row for row
     * (the files differ only in the run id of their schema metadata).
     */
    @Test void twoSaesInOnePassEqualTwoSingleRuns() throws IOException {
        try (Sae early = TinyA.sae(model, "blocks.0.hook_resid_post")) {
            Path both = tmp.resolve("both"), single0 = tmp.resolve("single0");
            TinyA.index(model, List.of(early, sae), corpus, both, OPTIONS);
            TinyA.index(model, List.of(early), corpus, single0, OPTIONS);
            Map<String, byte[]> whole = RunFiles.tree(both);
            for (String[] pair : new String[][]{{"blocks.0.hook_resid_post-sae", single0.toString()}, {"blocks.2.hook_resid_post-sae", textRun.toString()}}) {
                Map<String, byte[]> sub = RunFiles.contents(both.resolve(pair[0]));
                Map<String, byte[]> alone = RunFiles.contents(Path.of(pair[1]));
                alone.keySet().removeAll(List.of("run.json", "tokens.arrow", "documents.arrow"));
                assertEquals(List.of(), RunFiles.differences(sub, alone), pair[0]);
            }
            assertTrue(whole.containsKey("run.json") && whole.containsKey("tokens.arrow"));
            assertEquals(RunFiles.columns(textRun.resolve("tokens.arrow")).keySet(), RunFiles.columns(both.resolve("tokens.arrow")).keySet());
            assertArrayEquals(RunFiles.columns(textRun.resolve("tokens.arrow")).get("token_id"), RunFiles.columns(both.resolve("tokens.arrow")).get("token_id"));
            try (FeatureStore s0 = FeatureStore.open(both, "blocks.0.hook_resid_post-sae", model.tokenizer())) {
                assertEquals("blocks.0.hook_resid_post", s0.sae().hook());
            }
            assertThrows(IllegalArgumentException.class, () -> FeatureStore.open(both, "nope", model.tokenizer()));
            runArrowJs(both);
        }
    }

    @Test void aDifferentRunInTheFolderIsRefusedAndLeftAlone() throws IOException {
        Map<String, byte[]> before = RunFiles.tree(textRun);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TinyA.index(model, List.of(sae), corpus, textRun, OPTIONS.withContext(32)));
        assertTrue(e.getMessage().contains("different corpus run") && e.getMessage().contains("options.context"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(List.of(), RunFiles.differences(before, RunFiles.tree(textRun)));
        Path other = tmp.resolve("other");
        Files.createDirectories(other);
        Files.writeString(other.resolve("notes.txt"), "mine");
        assertThrows(IllegalArgumentException.class, () -> TinyA.index(model, List.of(sae), corpus, other, OPTIONS));
        // the same job again on a finished run changes nothing
        TinyA.index(model, List.of(sae), corpus, textRun, OPTIONS);
        assertEquals(List.of(), RunFiles.differences(before, RunFiles.tree(textRun)));
    }

    @Test void malformedLinesNameFileAndLine() throws IOException {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"fine\"}\n{\"text\": 3}\n{oops\n\n{\"text\": \"also fine\"}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            var it = Corpus.read(bad, false, IndexProgress.NONE);
            while (it.hasNext()) it.next();
        });
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("--skip-bad-lines"), e.getMessage());
        List<String> warnings = new ArrayList<>();
        var it = Corpus.read(bad, true, new IndexProgress() {
            @Override public void warning(String m) { warnings.add(m); }
        });
        List<String> texts = new ArrayList<>();
        while (it.hasNext()) texts.add(it.next().text());
        assertEquals(List.of("fine", "also fine"), texts);
        assertEquals(2, warnings.size());
        assertTrue(warnings.get(1).contains("bad.jsonl:3"), warnings.get(1));
    }

    @Test void maxTokensStopsExactly() throws IOException {
        Path run = tmp.resolve("max-run");
        IndexResult r = TinyA.index(model, List.of(sae), corpus, run, OPTIONS.withMaxTokens(50));
        assertEquals(50, r.tokens());
        assertEquals(50, RunFiles.columns(run.resolve("tokens.arrow")).get("pos").length);
    }

    @Test void arrowJsReadsTheRunAndAgrees() throws IOException {
        runArrowJs(textRun);
    }

    /** node + apache-arrow (installed by bin/setup into .cache/node) recompute the summaries from the shards. */
    static void runArrowJs(Path run) throws IOException {
        Path nodeDir = Fixtures.nodeModules("apache-arrow").getParent().getParent();
        Path script = Path.of("src/test/js/check-run.cjs").toAbsolutePath();
        ProcessBuilder pb = new ProcessBuilder("node", script.toString(), run.toString(), nodeDir.toString()).redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            fail("the Arrow JS reader test needs node on the PATH (apt-get install nodejs): " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes());
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("node check-run.cjs did not finish in 120 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("check-run: ok"), out);
    }
}
