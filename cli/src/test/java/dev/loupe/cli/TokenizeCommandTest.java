package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code loupe tokenize} against the reference encodings of the Gemma tokenizer fixture. */
class TokenizeCommandTest {
    @TempDir Path dir;

    private static Path tokenizerJson() { return Fixtures.testData("gemma-tokenizer/tokenizer.json"); }

    @Test
    void printsTheReferenceIdsForEveryCase() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        JsonNode cases = mapper.readTree(Fixtures.file("tokenizer/gemma_tokenizer_cases.json").toFile()).get("cases");
        List<String> lines = new ArrayList<>();
        for (JsonNode c : cases) lines.add(mapper.writeValueAsString(JsonNodeFactory.instance.objectNode().put("text", c.get("text").asText())));
        Path in = dir.resolve("in.jsonl");
        Files.write(in, lines, StandardCharsets.UTF_8);

        Cli.Result r = Cli.run("tokenize", "--tokenizer", tokenizerJson().toString(), "--jsonl", in.toString());

        assertEquals(0, r.exit(), r.err());
        String[] out = r.out().split("\n");
        assertEquals(cases.size(), out.length);
        for (int i = 0; i < out.length; i++) {
            assertEquals(cases.get(i).get("ids"), mapper.readTree(out[i]).get("ids"), cases.get(i).get("name").asText());
        }
    }

    @Test
    void printsExactlyOneCompactLinePerInputLine() throws Exception {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"text\": \"<start_of_turn>user\\n\", \"id\": 7}\n\n{\"text\": \"\"}\n");
        Cli.Result r = Cli.run("tokenize", "--tokenizer", tokenizerJson().getParent().toString(), "--jsonl", in.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("{\"ids\":[2,106,1645,108]}\n{\"ids\":[2]}\n", r.out());
    }

    @Test
    void badLinesAreReportedWithTheirNumber() throws Exception {
        Path in = dir.resolve("bad.jsonl");
        Files.writeString(in, "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
        Cli.Result r = Cli.run("tokenize", "--tokenizer", tokenizerJson().toString(), "--jsonl", in.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("loupe tokenize: " + in + " line 2: malformed JSON: "), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Files.writeString(in, "{\"txt\": \"ok\"}\n");
        r = Cli.run("tokenize", "--tokenizer", tokenizerJson().toString(), "--jsonl", in.toString());
        assertEquals("loupe tokenize: " + in + " line 1: missing the \"text\" field\n", r.err());

        Files.writeString(in, "{\"text\": 5}\n");
        r = Cli.run("tokenize", "--tokenizer", tokenizerJson().toString(), "--jsonl", in.toString());
        assertEquals("loupe tokenize: " + in + " line 1: \"text\" must be a string\n", r.err());
    }

    @Test
    void missingFilesAreOneLine() throws Exception {
        Path nope = dir.resolve("nope");
        Path in = dir.resolve("in.jsonl");
        Cli.Result r = Cli.run("tokenize", "--tokenizer", tokenizerJson().toString(), "--jsonl", in.toString());
        assertEquals(1, r.exit());
        assertEquals("loupe tokenize: no such file: " + in + "\n", r.err());

        Files.writeString(in, "{\"text\": \"a\"}\n");
        r = Cli.run("tokenize", "--tokenizer", nope.toString(), "--jsonl", in.toString());
        assertEquals(1, r.exit());
        assertEquals("loupe tokenize: no such file: " + nope + "\n", r.err());
        assertEquals("", r.out());
    }
}
