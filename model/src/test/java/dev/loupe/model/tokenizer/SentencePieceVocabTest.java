package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/** SentencePiece BPE by scores, from vocabularies as GGUF files carry them. */
class SentencePieceVocabTest {
    static Tokenizer tinyA;

    @BeforeAll
    static void loadTinyA() throws Exception {
        JsonNode v = new ObjectMapper().readTree(Fixtures.file("tiny-a/vocab.json").toFile());
        List<String> tokens = new ArrayList<>();
        v.get("tokens").forEach(t -> tokens.add(t.asText()));
        float[] scores = new float[tokens.size()];
        for (int i = 0; i < scores.length; i++) scores[i] = (float) v.get("scores").get(i).asDouble();
        tinyA = Tokenizers.fromSentencePieceVocab(tokens, scores, TokenizerCases.ints(v.get("token_types")), 2, 1);
    }

    // tiny-a ids: <0xNN> = 4 + NN, "▁" = 260, "▁a".."▁z" = 261.., "a".."z" = 287.., "▁aa".."▁cs" = 313 + 26*first + second.
    @Test
    void tinyAHandCheckedEncodings() {
        assertArrayEquals(new int[] {2}, tinyA.encode(""));
        assertArrayEquals(new int[] {2, 287, 288}, tinyA.encode("ab"));           // no piece "ab"
        assertArrayEquals(new int[] {2, 287, 262}, tinyA.encode("a b"));          // a, ▁b
        assertArrayEquals(new int[] {2, 314}, tinyA.encode(" ab"));               // ▁a then ▁ab
        assertArrayEquals(new int[] {2, 383}, tinyA.encode(" cs"));               // the last piece
        assertArrayEquals(new int[] {2, 263, 306}, tinyA.encode(" ct"));          // no ▁ct: ▁c, t
        assertArrayEquals(new int[] {2, 260, 261}, tinyA.encode("  a"));          // ▁, ▁a
        assertArrayEquals(new int[] {2, 4 + 0x41}, tinyA.encode("A"));            // byte fallback
        assertArrayEquals(new int[] {2, 4 + 0xC3, 4 + 0xA9}, tinyA.encode("é"));  // two UTF-8 bytes
        assertArrayEquals(new int[] {2, 4 + 0x09}, tinyA.encode("\t"));
        assertArrayEquals(new int[] {2, 2, 310}, tinyA.encode("<bos>x"));         // control piece kept whole
        assertArrayEquals(new int[] {3}, tinyA.encode("<unk>", false));
        assertArrayEquals(new int[] {314}, tinyA.encode(" ab", false));
    }

    @Test
    void theGgufVocabularyGivesTheSameTokenizer() throws Exception {
        Tokenizer gguf = Tokenizers.load(Fixtures.file("tiny-a/tiny-a-f32.gguf"));
        assertEquals(384, gguf.vocabSize());
        assertEquals(2, gguf.bosId());
        assertEquals(1, gguf.eosId());
        assertArrayEquals(new int[] {2, 314}, gguf.encode(" ab"));
        assertArrayEquals(new int[] {2, 4 + 0xC3, 4 + 0xA9}, gguf.encode("é"));
        for (String text : new String[] {"hello world", " a  b\tc", "<bos>x", "Ünïcödé 😀"}) {
            assertArrayEquals(tinyA.encode(text), gguf.encode(text), text);
            assertEquals("<bos>" + text, gguf.decode(gguf.encode(text)), text);
        }
    }

    @Test
    void tinyADecodes() {
        assertEquals("<bos> ab ct", tinyA.decode(new int[] {2, 314, 263, 306}));
        assertEquals(" ab ct", tinyA.decode(new int[] {2, 314, 263, 306}, true));
        assertEquals("<bos>é\t", tinyA.decode(new int[] {2, 4 + 0xC3, 4 + 0xA9, 4 + 0x09}));
        for (String text : new String[] {"hello world", " a  b\tc", "Ünïcödé 😀", ""}) {
            assertEquals("<bos>" + text, tinyA.decode(tinyA.encode(text)), text);
        }
    }

    @Test
    void tinyAFacts() {
        assertEquals(384, tinyA.vocabSize());
        assertEquals(2, tinyA.bosId());
        assertEquals(1, tinyA.eosId());
        assertTrue(tinyA.isSpecial(0) && tinyA.isSpecial(1) && tinyA.isSpecial(2) && tinyA.isSpecial(3));
        assertFalse(tinyA.isSpecial(4) || tinyA.isSpecial(260));
        assertEquals(TokenType.BYTE, tinyA.type(4));
        assertEquals(" a", tinyA.tokenText(261));
        assertEquals("A", tinyA.tokenText(4 + 0x41));
        assertEquals("<0xC3>", tinyA.tokenText(4 + 0xC3));
        assertEquals(313, tinyA.id("▁aa"));
        assertEquals("▁aa", tinyA.piece(313));
    }

    /** A made-up vocabulary small enough to work out by hand. */
    private static Tokenizer small(float abScore, float bcScore) {
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "a", "b", "c", "ab", "bc", "abc", "abcc", "xy");
        float[] scores = {0, 0, 0, -10, -10, -10, abScore, bcScore, -1, -2, 0};
        int[] types = {2, 3, 3, 1, 1, 1, 1, 1, 5, 1, 4};
        return Tokenizers.fromSentencePieceVocab(tokens, scores, types, 1, 2, false);
    }

    @Test
    void mergesTheHighestScoringPairFirst() {
        assertArrayEquals(new int[] {6, 5}, small(-3, -4).encode("abc")); // ab beats bc; abc is unused: split back
        assertArrayEquals(new int[] {3, 7}, small(-4, -3).encode("abc")); // bc beats ab
        assertArrayEquals(new int[] {6, 5}, small(-3, -3).encode("abc")); // a tie goes to the leftmost pair
    }

    @Test
    void unusedPiecesAreIntermediateStepsOnly() {
        // ab, then the unused abc, then abcc: reachable only through abc.
        assertArrayEquals(new int[] {9}, small(-3, -4).encode("abcc"));
    }

    @Test
    void userDefinedPiecesAreWholeAndUnknownsFuse() {
        Tokenizer t = small(-3, -4);
        assertArrayEquals(new int[] {3, 10, 4}, t.encode("axyb"));
        assertArrayEquals(new int[] {0}, t.encode("qq"));           // no byte pieces: one unknown for the run
        assertArrayEquals(new int[] {0, 3, 0}, t.encode("qaq"));
        assertFalse(t.addsBosByDefault());
        assertArrayEquals(new int[] {1, 6}, t.encode("ab", true));
    }

    @Test
    void rejectsMalformedVocabularies() {
        List<String> tokens = List.of("<unk>", "a");
        assertEquals("tokenizer.ggml.scores has 1 entries, expected 2", assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromSentencePieceVocab(tokens, new float[1], new int[] {2, 1}, -1, -1)).getMessage());
        assertEquals("tokenizer.ggml.token_type[1]: token type 9 is not one of 1 (normal) .. 6 (byte)",
                assertThrows(IllegalArgumentException.class,
                        () -> Tokenizers.fromSentencePieceVocab(tokens, new float[2], new int[] {2, 9}, -1, -1)).getMessage());
        assertEquals("tokenizer.ggml.tokens: piece \"a\" appears twice (ids 1 and 2)", assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromSentencePieceVocab(List.of("<unk>", "a", "a"), new float[3], new int[] {2, 1, 1}, -1, -1)).getMessage());
        assertEquals("bos id 5 is outside the vocabulary [0, 2)", assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromSentencePieceVocab(tokens, new float[2], new int[] {2, 1}, 5, -1)).getMessage());
        assertEquals("tokenizer.ggml.tokens[1] is \"a\", but a byte piece must be <0xNN>", assertThrows(IllegalArgumentException.class,
                () -> Tokenizers.fromSentencePieceVocab(tokens, new float[2], new int[] {2, 6}, -1, -1)).getMessage());
    }

    // The real 256k vocabulary rebuilt as a SentencePiece model, as the fixtures' spm_crosscheck did:
    // score = -id; <pad> <eos> <bos> control, <unk> unknown, <0xNN> byte, ids 4..216 and
    // 255968..255999 user-defined, the rest normal.
    static Tokenizer gemmaSpm;

    static synchronized Tokenizer gemmaSpm() {
        if (gemmaSpm == null) {
            Tokenizer hf = TokenizerCases.gemma();
            int n = hf.vocabSize();
            List<String> tokens = new ArrayList<>(n);
            float[] scores = new float[n];
            int[] types = new int[n];
            for (int id = 0; id < n; id++) {
                String piece = hf.piece(id);
                tokens.add(piece);
                scores[id] = -id;
                types[id] = id <= 2 ? 3 : id == 3 ? 2 : piece.matches("<0x[0-9A-F]{2}>") ? 6
                        : id <= 216 || id >= 255968 ? 4 : 1;
            }
            gemmaSpm = Tokenizers.fromSentencePieceVocab(tokens, scores, types, 2, 1);
        }
        return gemmaSpm;
    }

    @TestFactory
    Stream<DynamicTest> gemmaAsSentencePieceReproducesIdsSpm() throws Exception {
        Tokenizer spm = gemmaSpm();
        return TokenizerCases.all().stream().map(c -> dynamicTest(c.name(), () -> {
            assertArrayEquals(c.idsSpm(), spm.encode(c.text()), () -> c.name() + ": got " + Arrays.toString(spm.encode(c.text())));
            assertEquals(c.decoded(), spm.decode(c.ids()));
        }));
    }

    @Test
    void gemmaAsSentencePieceMatchesAStraightforwardImplementationOnLongText() throws Exception {
        Tokenizer spm = gemmaSpm();
        StringBuilder text = new StringBuilder();
        for (TokenizerCases.Case c : TokenizerCases.all()) text.append(c.text()).append(' ');
        String longText = text.toString().repeat(2);
        for (String s : new String[] {longText, "x" + " ".repeat(100) + "y", "ab".repeat(400)}) {
            assertArrayEquals(naiveSpm(spm, s), spm.encode(s), () -> "text of length " + s.length());
        }
    }

    @Test
    void gemmaAsSentencePieceAgreesWithTokenizerJsonOutsideSpaceRuns() throws Exception {
        // The merges list was derived from the scores, so the two algorithms differ only where runs of
        // spaces meet the user-defined ▁▁... pieces (matched greedily by SentencePiece).
        Tokenizer hf = TokenizerCases.gemma();
        StringBuilder text = new StringBuilder();
        for (TokenizerCases.Case c : TokenizerCases.all()) text.append(c.text()).append(' ');
        String noRuns = text.toString().repeat(30).replaceAll(" {2,}", " ");
        assertArrayEquals(hf.encode(noRuns), gemmaSpm().encode(noRuns));
    }

    /** Quadratic SentencePiece BPE straight from its description, for the test above. */
    private static int[] naiveSpm(Tokenizer vocab, String text) {
        Map<String, Integer> ids = new HashMap<>();
        List<String> atomic = new ArrayList<>();
        for (int id = 0; id < vocab.vocabSize(); id++) {
            ids.put(vocab.piece(id), id);
            TokenType t = vocab.type(id);
            if (t == TokenType.CONTROL || t == TokenType.UNKNOWN || t == TokenType.USER_DEFINED) atomic.add(vocab.piece(id));
        }
        String s = text.replace(" ", "▁");
        List<Integer> out = new ArrayList<>(List.of(2));
        int segment = 0, i = 0;
        while (i <= s.length()) {
            String best = null;
            if (i < s.length()) for (String a : atomic) if (s.startsWith(a, i) && (best == null || a.length() > best.length())) best = a;
            if (best == null && i < s.length()) {
                i++;
                continue;
            }
            List<String> symbols = new ArrayList<>();
            s.substring(segment, i).codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
            while (true) {
                int at = -1;
                float bestScore = Float.NEGATIVE_INFINITY;
                for (int k = 0; k + 1 < symbols.size(); k++) {
                    Integer id = ids.get(symbols.get(k) + symbols.get(k + 1));
                    if (id == null || vocab.type(id) != TokenType.NORMAL && vocab.type(id) != TokenType.USER_DEFINED) continue;
                    if (-id > bestScore) {
                        bestScore = -id;
                        at = k;
                    }
                }
                if (at < 0) break;
                symbols.set(at, symbols.get(at) + symbols.remove(at + 1));
            }
            for (String sym : symbols) {
                Integer id = ids.get(sym);
                if (id != null) out.add(id);
                else for (byte b : sym.getBytes(StandardCharsets.UTF_8)) out.add(ids.get(String.format("<0x%02X>", b & 0xff)));
            }
            if (best == null) break;
            out.add(ids.get(best));
            i = segment = i + best.length();
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
