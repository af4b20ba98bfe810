package dev.loupe.web;

import dev.loupe.model.Fixtures;
import dev.loupe.analysis.CorpusIndexer;
import dev.loupe.analysis.Document;
import dev.loupe.analysis.IndexJob;
import dev.loupe.analysis.IndexOptions;
import dev.loupe.analysis.IndexProgress;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A corpus run over the tiny-a fixture (its 4-layer model and its JumpReLU SAE at blocks.2.hook_resid_post),
 * built once per test JVM with the analysis indexer into target/, and servers over it.
 */
final class TinyRun {
    static Path model() { return Fixtures.file("tiny-a/tiny-a-f32.gguf"); }
    static Path sae() { return Fixtures.file("tiny-a/sae"); }
    static final String HOOK = "blocks.2.hook_resid_post";
    static final int FEATURES = 256;
    /** Short documents (under the indexing context), so every document is one window that starts with its own bos. */
    static final int CONTEXT = 64;

    private static Path run;

    private TinyRun() {}

    /** Documents of words, sentences and numbers: the tiny vocabulary turns most of them into byte pieces. */
    static List<Document> corpus() {
        String[] words = {"the", "bridge", "golden", "gate", "river", "city", "opened", "in", "1937", "cat", "sat", "on", "mat",
                "red", "blue", "water", "fog", "san", "francisco", "steel", "tower", "cable", "light", "night", "day"};
        Random r = new Random(2026);
        List<Document> docs = new ArrayList<>();
        for (int d = 0; d < 48; d++) {
            StringBuilder sb = new StringBuilder();
            int n = 3 + r.nextInt(6);
            for (int w = 0; w < n; w++) sb.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            docs.add(Document.text("tiny-corpus:" + (d + 1), sb.toString()));
        }
        return docs;
    }

    /** The run folder, indexed on first use. */
    static synchronized Path run() {
        if (run != null) return run;
        try {
            Path dir = Path.of("target", "tiny-a-run-" + ProcessHandle.current().pid());
            if (Files.exists(dir)) deleteTree(dir);
            try (Model model = Model.load(model(), 1); Sae sae = Sae.load(sae(), HOOK, model.backend())) {
                IndexJob job = new IndexJob(model, model().toString(), List.of(new IndexJob.RunSae(sae, sae().toString())),
                        new IndexJob.CorpusId("tiny-corpus", "0".repeat(64)), dir,
                        IndexOptions.defaults().withContext(CONTEXT).withShardTokens(128));
                CorpusIndexer.index(job, corpus().iterator(), IndexProgress.NONE);
            }
            run = dir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    deleteTree(dir);
                    Path moved = Path.of("target", "tiny-a-run-moved-" + ProcessHandle.current().pid());
                    if (Files.exists(moved)) deleteTree(moved);
                } catch (IOException e) {
                    // left for mvn clean
                }
            }));
            return run;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Limits small enough to test: one pass at a time, one waiting, 4096 new tokens for the long generations. */
    static Limits testLimits() { return Limits.defaults().withQueueCapacity(1).withMaxNewTokens(4096).withMaxPromptTokens(256); }

    private static LoupeServer shared;

    /** One live server with {@link #testLimits()} for the test classes that only send it requests; closed at exit. */
    static synchronized LoupeServer sharedLiveServer() throws IOException {
        if (shared == null) {
            LoupeServer s = liveServer(testLimits());
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
            shared = s;
        }
        return shared;
    }

    /** A live server over the run on a free port. */
    static LoupeServer liveServer(Limits limits) throws IOException {
        return LoupeServer.start(ServerOptions.of(run()).withModel(model(), sae(), HOOK).withAddress("127.0.0.1", 0).withThreads(1).withLimits(limits));
    }

    /**
     * A copy of the run whose run.json names a model and SAE that do not exist here (a run moved to another
     * machine): the server can only browse it.
     */
    static synchronized Path browsingOnlyCopy() throws IOException {
        Path src = run();
        Path dir = Path.of("target", "tiny-a-run-moved-" + ProcessHandle.current().pid());
        if (Files.exists(dir)) deleteTree(dir);
        try (var s = Files.walk(src)) {
            for (Path p : s.toList()) {
                Path to = dir.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(to);
                else Files.copy(p, to);
            }
        }
        com.fasterxml.jackson.databind.node.ObjectNode json = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(dir.resolve("run.json").toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) json.get("model")).put("path", "/nonexistent/model.gguf");
        for (var sae : json.withArray("saes")) ((com.fasterxml.jackson.databind.node.ObjectNode) sae).put("path", "/nonexistent/sae");
        Files.writeString(dir.resolve("run.json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json));
        return dir;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
