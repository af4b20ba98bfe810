package dev.loupe.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code loupe tokenize}: one {@code {"ids": [...]}} line (with {@code <bos>}) per {@code {"text": ...}} input line. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Encode text to token ids.",
                "Reads JSON lines {\"text\": \"...\"} and prints one line {\"ids\": [...]} for each, in order, starting with <bos>.",
                "Blank lines are skipped."})
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "a tokenizer.json, or a model folder holding one")
    Path tokenizer;

    @Option(names = "--jsonl", required = true, paramLabel = "IN.jsonl", description = "input: one JSON object with a \"text\" string per line")
    Path jsonl;

    @Spec CommandSpec spec;

    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        InputPaths.requireFile(jsonl, "--jsonl");
        try (BufferedReader in = Files.newBufferedReader(jsonl, StandardCharsets.UTF_8)) {
            Tokenizer tok = Tokenizers.load(tokenizer);
            int number = 0;
            for (String input = in.readLine(); input != null; input = in.readLine()) {
                number++;
                if (input.isBlank()) continue;
                out.print(dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsString(new Ids(tok.encode(textOf(input, number), true))) + "\n");
            }
        } catch (CharacterCodingException e) {
            throw new IOException(jsonl + ": not valid UTF-8");
        } finally {
            out.flush();
        }
        return 0;
    }

    /** One output line. */
    private record Ids(int[] ids) {}

    private String textOf(String input, int number) throws IOException {
        String where = jsonl + " line " + number;
        try (JsonParser p = JSON.createParser(input)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new BadInputException(where + ": expected a JSON object {\"text\": \"...\"}");
            String text = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals("text")) {
                    if (value != JsonToken.VALUE_STRING) throw new BadInputException(where + ": \"text\" must be a string");
                    text = p.getText();
                } else {
                    p.skipChildren();
                }
            }
            if (p.nextToken() != null) throw new BadInputException(where + ": unexpected content after the JSON object");
            if (text == null) throw new BadInputException(where + ": missing the \"text\" field");
            return text;
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": malformed JSON: " + e.getOriginalMessage().replace('\n', ' '));
        }
    }
}
