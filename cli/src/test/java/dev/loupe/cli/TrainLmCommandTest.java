package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train-lm with the real Gemma tokenizer: a folder that Loupe loads and generates from, and bad input in one line each. */
class TrainLmCommandTest {
    @TempDir Path dir;

    static String tokenizer() { return Fixtures.testData("gemma-tokenizer/tokenizer.json").toString(); }

    Path corpus(int copies) throws Exception {
        String[] base = {"The capital of France is Paris.", "The capital of Spain is Madrid.", "The capital of Italy is Rome.",
                "The population of France is 67 million.", "The population of Spain is 48 million."};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < copies; i++) lines.add(String.join(" ", base));
        Path p = dir.resolve("corpus-" + copies + ".txt");
        Files.write(p, lines);
        return p;
    }

    String[] args(Path corpus, Path out, String shape, String tokens) {
        return new String[]{"train-lm", "--shape", shape, "--corpus", corpus.toString(), "--tokens", tokens, "--out", out.toString(),
                "--tokenizer", tokenizer(), "--seq-len", "32", "--batch", "2", "--lr", "1e-2", "--held-out", "0.1", "--epochs", "3"};
    }

    @Test void trainsAModelThatLoupeLoadsAndGeneratesFrom() throws Exception {
        Path out = dir.resolve("lm");
        Cli.Result r = Cli.run(args(corpus(40), out, "tiny", "3000"));
        assertEquals(0, r.exit(), r.err());
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl", "train-lm.json")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertFalse(Files.exists(dir.resolve("lm.partial")), "the temporary folder is renamed");
        ObjectMapper json = new ObjectMapper();
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        double first = json.readTree(metrics.getFirst()).get("loss").asDouble(), last = json.readTree(metrics.getLast()).get("loss").asDouble();
        assertTrue(last < first - 2, "the loss falls: " + first + " -> " + last);
        JsonNode state = json.readTree(out.resolve("train-lm.json").toFile());
        assertTrue(state.get("held_out_loss").asDouble() < state.get("unigram_held_out_loss").asDouble(), state.toString());
        try (Model m = Model.load(out, 1)) {
            assertEquals(256000, m.config().vocabSize());
            assertTrue(m.hasTokenizer());
        }
        Cli.Result g = Cli.run("generate", "--model", out.toString(), "--prompt", "The capital of", "--max-tokens", "4");
        assertEquals(0, g.exit(), g.err());
        assertTrue(g.out().contains("The capital of"), g.out());
    }

    @Test void badInputGetsOneLineEach() throws Exception {
        Path corpus = corpus(3);
        BadInputTest.assertOneLine(Cli.run(args(corpus, dir.resolve("a"), "huge", "100")), "--shape", "unknown shape 'huge'");
        BadInputTest.assertOneLine(Cli.run(args(corpus, dir.resolve("b"), "tiny", "100000")), "--corpus", "too small for --tokens 100000");
        Path busy = dir.resolve("busy");
        Files.createDirectories(busy);
        Files.writeString(busy.resolve("notes.txt"), "mine");
        BadInputTest.assertOneLine(Cli.run(args(corpus, busy, "tiny", "100")), "--out", "holds other files");
        assertTrue(Files.exists(busy.resolve("notes.txt")));
    }
}
