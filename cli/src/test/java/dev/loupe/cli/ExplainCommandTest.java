package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.analysis.ContextToken;
import dev.loupe.analysis.Example;
import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.TokenValue;
import dev.loupe.model.Fixtures;
import dev.loupe.web.LoupeServer;
import dev.loupe.web.ServerOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * loupe explain end to end on a tiny-a run: against a scripted OpenAI-compatible server, whose scorer knows the
 * truth (perfect, inverted, or always 1), for the exact explainer prompt and the scoring arithmetic; and against
 * Loupe's own /v1/chat/completions serving tiny-a, for the real protocol.
 */
class ExplainCommandTest {
    private static final String HOOK = "blocks.2.hook_resid_post";
    /** Short windows: the tiny SAE's features are dense, and a non-activating excerpt must be silent throughout. */
    private static final int CONTEXT = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path dir;
    static Path run;

    @BeforeAll static void index() throws IOException {
        List<String> lines = new ArrayList<>();
        String[] words = {"river", "bridge", "seven", "glass", "lamp", "north", "paper", "storm", "city", "gate"};
        // random words: an excerpt's text then names its window (no two windows read alike)
        java.util.Random rnd = new java.util.Random(7);
        for (int d = 0; d < 24; d++) {
            StringBuilder sb = new StringBuilder("Doc " + d + ":");
            for (int w = 0; w < 14; w++) sb.append(' ').append(words[rnd.nextInt(words.length)]);
            lines.add(sb.toString());
        }
        Path corpus = dir.resolve("corpus.txt");
        Files.write(corpus, lines);
        run = dir.resolve("run");
        Cli.Result idx = Cli.run("index", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", corpus.toString(), "--out", run.toString(),
                "--context", "32", "--threads", "1", "--quiet");
        assertEquals(0, idx.exit(), idx.err());
    }

    static String gguf() { return Fixtures.file("tiny-a/tiny-a-f32.gguf").toString(); }

    static String sae() { return Fixtures.file("tiny-a/sae").toString(); }

    /** The text of a window with runs of marked tokens in << >>, newlines escaped: the prompts' excerpt format. */
    static String render(List<ContextToken> w, boolean[] marks) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < w.size(); i++) {
            boolean m = marks != null && marks[i];
            if (m && (i == 0 || !marks[i - 1])) sb.append("<<");
            sb.append(w.get(i).text());
            if (m && (i == w.size() - 1 || !marks[i + 1])) sb.append(">>");
        }
        return sb.toString().replace("\n", "\\n");
    }

    static boolean[] active(List<ContextToken> w) {
        boolean[] m = new boolean[w.size()];
        for (int i = 0; i < m.length; i++) m[i] = w.get(i).activation() > 0;
        return m;
    }

    /** A scripted chat server: records each user message and answers with {@code answer}. */
    record Scripted(HttpServer server, List<String> users, List<String> systems) implements AutoCloseable {
        static Scripted start(Function<String[], String> answer) throws IOException {
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            List<String> users = new ArrayList<>(), systems = new ArrayList<>();
            s.createContext("/v1/chat/completions", ex -> {
                JsonNode req = JSON.readTree(ex.getRequestBody());
                String system = "", user = "";
                for (JsonNode m : req.get("messages")) {
                    if (m.get("role").asText().equals("system")) system = m.get("content").asText();
                    else user = m.get("content").asText();
                }
                synchronized (users) {
                    users.add(user);
                    systems.add(system);
                }
                String content = answer.apply(new String[]{system, user});
                byte[] body = JSON.writeValueAsBytes(JSON.createObjectNode()
                        .put("object", "chat.completion")
                        .set("choices", JSON.createArrayNode().add(JSON.createObjectNode().put("index", 0)
                                .set("message", JSON.createObjectNode().put("role", "assistant").put("content", content)))));
                ((com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(body)).toString();
                com.fasterxml.jackson.databind.node.ObjectNode withUsage = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(body);
                withUsage.putObject("usage").put("prompt_tokens", 100).put("completion_tokens", 10).put("total_tokens", 110);
                byte[] out = withUsage.toString().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, out.length);
                ex.getResponseBody().write(out);
                ex.close();
            });
            s.start();
            return new Scripted(s, users, systems);
        }

        String url() { return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1"; }

        @Override public void close() { server.stop(0); }
    }

    /** Answers a scorer's prompt from the truth: which excerpts are the feature's (detection) or rightly marked (fuzzing). */
    static String oracle(String user, Set<String> positives, boolean invert, boolean allOnes) {
        List<Integer> said = new ArrayList<>();
        for (String line : user.split("\n")) {
            if (!line.startsWith("Excerpt ")) continue;
            String text = line.substring(line.indexOf(": ") + 2);
            boolean yes = allOnes || positives.contains(text) != invert;
            said.add(yes ? 1 : 0);
        }
        return said.toString();
    }

    /** The texts of every window of the run (±CONTEXT) where the feature is silent throughout. */
    static Set<String> silentTexts(FeatureStore store, int f) {
        Set<String> out = new HashSet<>();
        for (int d = 0; d < store.documentCount(); d++) {
            int len = store.documentLength(d);
            for (int p = 1; p < len; p++) {
                List<ContextToken> w = store.activations(f, d, Math.max(0, p - CONTEXT), Math.min(len, p + CONTEXT + 1));
                if (w.stream().allMatch(t -> t.activation() == 0)) out.add(render(w, null));
            }
        }
        return out;
    }

    /** Features with held-out examples and silent windows. */
    static List<Integer> moderate(FeatureStore store, int n) {
        List<Integer> ids = new ArrayList<>();
        for (int f = 0; f < store.featureCount() && ids.size() < n; f++) {
            if (store.examples(f, CONTEXT).size() < 12) continue;
            Set<String> silent = silentTexts(store, f);
            if (silent.size() < 12) continue;
            ids.add(f);
        }
        assertTrue(ids.size() >= n, "features to explain: " + ids);
        return ids.subList(0, n);
    }

    @Test void scriptedServerExactPromptsAndScoringArithmetic() throws Exception {
        List<Integer> features;
        Set<String>[] detect, fuzz;
        String expectedPrompt;
        try (FeatureStore store = FeatureStore.open(run)) {
            features = moderate(store, 3);
            detect = new Set[3];
            fuzz = new Set[3];
            for (int i = 0; i < 3; i++) {
                detect[i] = new HashSet<>();
                fuzz[i] = new HashSet<>();
                for (Example e : store.examples(features.get(i), CONTEXT)) {
                    detect[i].add(render(e.window(), null));
                    fuzz[i].add(render(e.window(), active(e.window())));
                }
            }
            // The explainer sees the top 10 examples and the first of each quantile band, activating tokens marked.
            int f = features.getFirst();
            StringBuilder ex = new StringBuilder();
            Set<String> bands = new HashSet<>();
            int tops = 0, n = 0;
            for (Example e : store.examples(f, CONTEXT)) {
                boolean show = e.kind().equals("top") ? tops++ < 10 : bands.add(e.kind());
                if (show) ex.append("Example ").append(++n).append(": ").append(render(e.window(), active(e.window()))).append('\n');
            }
            List<String> promoted = store.summary(f).topPromoted().stream().limit(10).map(TokenValue::text).map(t -> "\"" + t + "\"").toList();
            expectedPrompt = "Excerpts where the feature is active (marked tokens are where it fires):\n\n" + ex.toString().strip()
                    + "\n\nTokens the feature promotes: " + String.join(", ", promoted)
                    + "\n\nEnd your answer with one line of the form\n[EXPLANATION]: <your explanation>";
        }
        // A scorer that knows the truth from an excerpt's text is right but where a silent window reads like an
        // example (the tiny vocabulary spells words in bytes, so short windows repeat); answering 1 to everything is
        // exactly chance, 0.5, whatever the mix.
        for (int i = 0; i < 3; i++) {
            final int k = i;
            try (Scripted s = Scripted.start(m -> m[0].startsWith("You study") ? "Let me look.\n[EXPLANATION]: scripted explanation " + k
                    : oracle(m[1], m[0].contains("marked") ? fuzz[k] : detect[k], k == 1, k == 2))) {
                Cli.Result r = Cli.run("explain", "--run", run.toString(), "--endpoint", s.url(), "--model", "scripted", "--features",
                        String.valueOf(features.get(i)), "--concurrency", "2", "--context", String.valueOf(CONTEXT));
                assertEquals(0, r.exit(), r.err() + r.out());
                assertEquals(3, s.users().size(), "one explainer and two scorer requests: " + s.users());
                assertTrue(r.out().contains("cost: 3 requests, 300 prompt + 30 completion tokens"), r.out());
                if (i == 0) {
                    assertEquals(expectedPrompt, s.users().getFirst(), "the explainer prompt, exactly");
                    assertTrue(s.users().get(1).startsWith("Explanation: scripted explanation 0\n\nExcerpt 1: "), s.users().get(1));
                }
            }
        }
        List<ExplanationsFile.Row> rows = ExplanationsFile.read(run.resolve("explanations.arrow"));
        assertEquals(3, rows.size());
        for (int i = 0; i < 3; i++) {
            int f = features.get(i);
            ExplanationsFile.Row row = rows.stream().filter(x -> x.featureId() == f).findFirst().orElseThrow();
            assertEquals("scripted explanation " + i, row.explanation());
            assertEquals("scripted", row.explainerModel());
            if (i == 0) {
                assertTrue(row.detection() >= 0.75 && row.fuzzing() >= 0.75, "the knowing scorer: " + row);
            } else if (i == 1) {
                assertTrue(row.detection() <= 0.25 && row.fuzzing() <= 0.25, "the contrary scorer: " + row);
            } else {
                assertEquals(0.5, row.detection(), 0.0, "all 1: chance");
                assertEquals(0.5, row.fuzzing(), 0.0, "all 1: chance");
            }
            assertTrue(row.timeMillis() > 0);
        }
        ExplanationsFile.Row first = rows.stream().filter(x -> x.featureId() == features.getFirst()).findFirst().orElseThrow();
        String system = Files.readString(run.resolve("prompts/explainer.txt"));
        system = system.substring(0, system.indexOf("\n---\n")).strip();
        byte[] d = MessageDigest.getInstance("SHA-256").digest((system + "\n---\n" + expectedPrompt).getBytes(StandardCharsets.UTF_8));
        assertEquals(HexFormat.of().formatHex(d, 0, 8), first.promptHash());

        // Resumable: the same features again cost nothing.
        try (Scripted s = Scripted.start(m -> "[1]")) {
            Cli.Result again = Cli.run("explain", "--run", run.toString(), "--endpoint", s.url(), "--model", "scripted", "--features",
                    features.get(0) + "," + features.get(1));
            assertEquals(0, again.exit(), again.err());
            assertEquals(0, s.users().size());
            assertTrue(again.out().contains("2 features already explained"), again.out());
        }
        // The export carries the explanations.
        Path np = dir.resolve("np");
        assertEquals(0, Cli.run("export", "--run", run.toString(), "--format", "neuronpedia", "--out", np.toString()).exit());
        assertTrue(Files.readString(np.resolve("batch-0.json")).contains("\"text\":\"scripted explanation 0\",\"methodName\":\"loupe-autointerp\""));

        // Neuronpedia's explanation JSON, out and back in (into a copy of the run without explanations).
        assertEquals(0, Cli.run("export", "--run", run.toString(), "--format", "neuronpedia-explanations", "--out", np.toString()).exit());
        com.fasterxml.jackson.databind.node.ArrayNode entries = (com.fasterxml.jackson.databind.node.ArrayNode) JSON.readTree(np.resolve("explanations.json").toFile());
        assertEquals(3, entries.size());
        for (JsonNode e : entries) {
            assertEquals("2-loupe-res-256", e.get("layer").asText());
            assertTrue(e.get("index").isTextual() && e.get("description").asText().startsWith("scripted explanation"));
        }
        entries.addObject().put("modelId", "x").put("layer", "5-gemmascope-res-16k").put("index", "3").put("description", "elsewhere");
        JSON.writeValue(np.resolve("explanations.json").toFile(), entries);
        Path copy = dir.resolve("imported");
        copy(run, copy);
        Files.delete(copy.resolve("explanations.arrow"));
        Cli.Result imp = Cli.run("import-explanations", "--run", copy.toString(), "--file", np.resolve("explanations.json").toString());
        assertEquals(0, imp.exit(), imp.err());
        assertTrue(imp.out().contains("imported 3 explanations") && imp.out().contains("1 of other sources left out"), imp.out());
        List<ExplanationsFile.Row> back = ExplanationsFile.read(copy.resolve("explanations.arrow"));
        assertEquals(rows.stream().map(ExplanationsFile.Row::explanation).sorted().toList(), back.stream().map(ExplanationsFile.Row::explanation).sorted().toList());
        assertEquals(rows.stream().map(ExplanationsFile.Row::featureId).sorted().toList(), back.stream().map(ExplanationsFile.Row::featureId).sorted().toList());
        Files.writeString(np.resolve("bad.json"), "{\"not\": \"an array\"}");
        Cli.Result bad = Cli.run("import-explanations", "--run", copy.toString(), "--file", np.resolve("bad.json").toString());
        assertEquals(2, bad.exit());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
    }

    @Test void badFlagsAreOneLine() {
        String[][] cases = {
                {"--endpoint", "ftp://x", "--model", "m", "--all"},
                {"--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--features", "0-9999"},
                {"--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--features", "x"},
                {"--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--all", "--api-key-env", "LOUPE_NO_SUCH_VARIABLE"},
                {"--endpoint", "http://127.0.0.1:1/v1", "--model", "m", "--features", "1"},
        };
        for (String[] c : cases) {
            List<String> argv = new ArrayList<>(List.of("explain", "--run", run.toString()));
            argv.addAll(List.of(c));
            Cli.Result r = Cli.run(argv.toArray(String[]::new));
            // wrong flags exit 2; an endpoint that does not answer is a failure of the machine, 1
            assertEquals(c == cases[cases.length - 1] ? 1 : 2, r.exit(), String.join(" ", c) + ": " + r.out());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    /** The real protocol: Loupe's own /v1/chat/completions serving tiny-a explains and scores (its answers are noise). */
    @Test void againstLoupesOwnChatEndpoint() throws Exception {
        Path own = dir.resolve("own");
        copy(run, own);
        Files.deleteIfExists(own.resolve("explanations.arrow"));
        List<Integer> features;
        try (FeatureStore store = FeatureStore.open(own)) {
            features = moderate(store, 2);
        }
        try (LoupeServer server = LoupeServer.start(ServerOptions.of(own).withModel(Path.of(gguf()), Path.of(sae()), HOOK).withAddress("127.0.0.1", 0).withThreads(1))) {
            Cli.Result r = Cli.run("explain", "--run", own.toString(), "--endpoint", server.url(), "--model", "tiny-a",
                    "--features", features.get(0) + "," + features.get(1), "--concurrency", "2", "--context", String.valueOf(CONTEXT));
            assertEquals(0, r.exit(), r.err() + r.out());
            assertTrue(r.out().contains("cost: 6 requests"), "an explainer and two scorer requests a feature: " + r.out());
        }
        List<ExplanationsFile.Row> rows = ExplanationsFile.read(own.resolve("explanations.arrow"));
        assertEquals(2, rows.size());
        for (ExplanationsFile.Row row : rows) {
            assertEquals("tiny-a", row.explainerModel());
            assertNotNull(row.explanation());
            assertFalse(row.promptHash().isEmpty());
        }
    }

    static void copy(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }
}
