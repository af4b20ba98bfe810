package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.FeatureSummary;
import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * loupe export --format neuronpedia on a tiny-a run: every batch is a body Neuronpedia's upload-batch route accepts
 * (its yup schema's rules, checked here one by one), and every feature of the run is either in a batch or in
 * skipped.json.
 */
class ExportCommandTest {
    private static final String HOOK = "blocks.2.hook_resid_post";
    @TempDir Path dir;

    @Test void exportsUploadBatches() throws IOException {
        List<String> lines = new ArrayList<>();
        String[] words = {"river", "bridge", "seven", "glass", "lamp", "north", "paper", "storm"};
        for (int d = 0; d < 10; d++) {
            StringBuilder sb = new StringBuilder("Doc " + d + ":");
            for (int w = 0; w < 10; w++) sb.append(' ').append(words[(d * 3 + w * 5) % words.length]);
            lines.add(sb.toString());
        }
        Path corpus = dir.resolve("corpus.txt"), run = dir.resolve("run"), out = dir.resolve("np");
        Files.write(corpus, lines);
        Cli.Result idx = Cli.run("index", "--model", Fixtures.file("tiny-a/tiny-a-f32.gguf").toString(), "--sae", Fixtures.file("tiny-a/sae").toString(),
                "--hook", HOOK, "--corpus", corpus.toString(), "--out", run.toString(), "--context", "16", "--threads", "1", "--quiet");
        assertEquals(0, idx.exit(), idx.err());

        Cli.Result r = Cli.run("export", "--run", run.toString(), "--format", "neuronpedia", "--out", out.toString(), "--batch-size", "100",
                "--model-id", "Tiny-A");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("source 2-loupe-res-256"), r.out());
        ObjectMapper json = new ObjectMapper();
        Set<Integer> seen = new HashSet<>();
        try (FeatureStore store = FeatureStore.open(run)) {
            for (int b = 0; Files.exists(out.resolve("batch-" + b + ".json")); b++) {
                JsonNode batch = json.readTree(out.resolve("batch-" + b + ".json").toFile());
                assertEquals("tiny-a", batch.get("modelId").asText(), "model ids are lower case");
                assertEquals("2-loupe-res-256", batch.get("source").asText());
                int n = batch.get("features").size();
                assertTrue(n >= 1 && n <= 100);
                for (JsonNode f : batch.get("features")) {
                    int index = f.get("index").asInt();
                    assertTrue(seen.add(index), "indexes are unique");
                    FeatureSummary s = store.summary(index);
                    assertEquals(s.density(), f.get("density").asDouble(), 1e-12);
                    assertTrue(f.get("density").asDouble() >= 0 && f.get("density").asDouble() <= 1);
                    for (String k : new String[]{"topLogits", "bottomLogits"}) {
                        assertTrue(f.get(k).size() <= 20);
                        for (JsonNode l : f.get(k)) assertTrue(l.get("token").isTextual() && l.get("value").isNumber());
                    }
                    assertEquals(s.topPromoted().getFirst().text(), f.get("topLogits").get(0).get("token").asText());
                    JsonNode acts = f.get("activations");
                    assertTrue(acts.size() >= 1);
                    double max = 0;
                    for (JsonNode a : acts) {
                        assertEquals(a.get("tokens").size(), a.get("values").size());
                        assertTrue(a.get("tokens").size() >= 1 && a.get("tokens").size() <= 1024);
                        for (JsonNode v : a.get("values")) max = Math.max(max, v.asDouble());
                    }
                    assertEquals(s.maxActivation(), max, 1e-6, "the strongest example holds the feature's max activation");
                    assertFalse(f.has("explanations"), "none without explanations");
                }
            }
            List<Integer> skipped = new ArrayList<>();
            if (Files.exists(out.resolve("skipped.json"))) {
                JsonNode sk = json.readTree(out.resolve("skipped.json").toFile());
                assertEquals("loupe-res-256", sk.get("sae_set").asText());
                sk.get("skipped_indexes").forEach(i -> skipped.add(i.asInt()));
                for (int i : skipped) assertEquals(0, store.summary(i).fireCount(), "only features that never fired are skipped");
            }
            assertEquals(store.featureCount(), seen.size() + skipped.size(), "every feature is exported or skipped");
        }
        Cli.Result bad = Cli.run("export", "--run", run.toString(), "--format", "saedashboard", "--out", out.toString());
        assertEquals(2, bad.exit());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("--format"), bad.err());
    }
}
