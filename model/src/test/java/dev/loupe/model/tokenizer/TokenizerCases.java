package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The reference encodings in fixtures/tokenizer/gemma_tokenizer_cases.json, and the real Gemma tokenizer.json. */
public final class TokenizerCases {
    private TokenizerCases() {}

    public record Case(String name, String text, int[] ids, List<String> tokens, String decoded, String decodedSkipSpecial,
                       boolean roundtripExact, int[] idsSpm) {}

    public static Path gemmaTokenizerJson() { return Fixtures.testData("gemma-tokenizer/tokenizer.json"); }

    private static Tokenizer gemma;

    /** The real Gemma tokenizer, loaded once for all test classes (tokenizers are immutable). */
    public static synchronized Tokenizer gemma() {
        if (gemma == null) {
            try {
                long t0 = System.nanoTime();
                gemma = Tokenizers.load(gemmaTokenizerJson());
                System.out.printf("gemma tokenizer.json loaded in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return gemma;
    }

    public static JsonNode root() {
        try {
            return new ObjectMapper().readTree(Fixtures.file("tokenizer/gemma_tokenizer_cases.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<Case> all() {
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : root().get("cases")) {
            List<String> tokens = new ArrayList<>();
            c.get("tokens").forEach(t -> tokens.add(t.asText()));
            cases.add(new Case(c.get("name").asText(), c.get("text").asText(), ints(c.get("ids")), tokens,
                    c.get("decoded").asText(), c.get("decoded_skip_special").asText(),
                    c.get("roundtrip_exact").asBoolean(), ints(c.get("ids_spm"))));
        }
        return cases;
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
