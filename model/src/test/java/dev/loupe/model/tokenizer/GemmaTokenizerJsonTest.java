package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/** The real Gemma tokenizer.json against the reference encodings of @huggingface/tokenizers. */
class GemmaTokenizerJsonTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() { tok = TokenizerCases.gemma(); }

    @TestFactory
    Stream<DynamicTest> encodesEveryCaseAsTheReference() {
        return TokenizerCases.all().stream().map(c -> dynamicTest(c.name(), () -> {
            int[] ids = tok.encode(c.text());
            assertArrayEquals(c.ids(), ids, () -> c.name() + ": got " + Arrays.toString(ids));
            for (int i = 0; i < ids.length; i++) assertEquals(c.tokens().get(i), tok.piece(ids[i]), c.name() + " token " + i);
        }));
    }

    @TestFactory
    Stream<DynamicTest> encodesWithoutBosOnRequest() {
        return TokenizerCases.all().stream().map(c -> dynamicTest(c.name(), () ->
                assertArrayEquals(Arrays.copyOfRange(c.ids(), 1, c.ids().length), tok.encode(c.text(), false))));
    }

    @TestFactory
    Stream<DynamicTest> decodesEveryCaseAsTheReference() {
        return TokenizerCases.all().stream().map(c -> dynamicTest(c.name(), () -> {
            assertEquals(c.decoded(), tok.decode(c.ids()));
            assertEquals(c.decodedSkipSpecial(), tok.decode(c.ids(), true));
            if (c.roundtripExact()) assertEquals("<bos>" + c.text(), tok.decode(tok.encode(c.text())));
            else assertFalse(("<bos>" + c.text()).equals(tok.decode(tok.encode(c.text()))));
        }));
    }

    @Test
    void vocabularyFacts() {
        assertEquals(256000, tok.vocabSize());
        assertEquals(2, tok.bosId());
        assertEquals(1, tok.eosId());
        assertTrue(tok.addsBosByDefault());
        JsonNode specials = TokenizerCases.root().get("special_tokens");
        specials.properties().forEach(e -> assertEquals(e.getValue().asInt(), tok.id(e.getKey()), e.getKey()));
        assertEquals(-1, tok.id("no such piece"));
        assertEquals(TokenType.BYTE, tok.type(tok.id("<0x41>")));
        assertEquals(TokenType.NORMAL, tok.type(226)); // tab is a plain piece, not <0x09>
    }

    @Test
    void specialAndReservedPiecesAreSingleTokens() {
        Map<String, Integer> whole = Map.ofEntries(
                Map.entry("<pad>", 0), Map.entry("<eos>", 1), Map.entry("<bos>", 2), Map.entry("<unk>", 3),
                Map.entry("<mask>", 4), Map.entry("<unused0>", 7), Map.entry("<unused98>", 105),
                Map.entry("<start_of_turn>", 106), Map.entry("<end_of_turn>", 107),
                Map.entry("<table>", 169), Map.entry("</code>", 216), Map.entry("[toxicity=0]", 255968),
                Map.entry("\t\t\t", 255970), Map.entry("<start_of_image>", 255999), Map.entry("▁▁", 139));
        whole.forEach((piece, id) -> {
            assertArrayEquals(new int[] {id}, tok.encode(piece, false), piece);
            assertEquals(piece, tok.piece(id));
        });
        // Matched whole inside text too, longest first: "<end_of_turn>" is not "<end" + ...
        assertArrayEquals(new int[] {2, 106, 1645, 108}, tok.encode("<start_of_turn>user\n"));
        assertArrayEquals(new int[] {2, 107, 107}, tok.encode("<end_of_turn><end_of_turn>"));
    }

    @Test
    void specialTokensAreMarkersNotText() {
        for (int id : new int[] {0, 1, 2, 3, 4, 7, 106, 107, 255968, 255999}) assertTrue(tok.isSpecial(id), "id " + id);
        for (int id : new int[] {108, 139, 169, 226, 235248, 255969, 457}) assertFalse(tok.isSpecial(id), "id " + id);
        assertEquals("\n\n", tok.decode(new int[] {2, 109, 1}, true));
        assertEquals("<bos>\n\n<eos>", tok.decode(new int[] {2, 109, 1}));
    }

    @Test
    void tokenTextShowsSpacesAndAsciiBytes() {
        assertEquals(" ", tok.tokenText(235248));
        assertEquals(" leading", tok.tokenText(8133));
        assertEquals("\n", tok.tokenText(108));
        assertEquals("A", tok.tokenText(tok.id("<0x41>")));
        assertEquals("<0xF0>", tok.tokenText(457));
        assertEquals("<start_of_turn>", tok.tokenText(106));
    }

    @Test
    void decodesBrokenUtf8AsReplacementCharacters() {
        // <0xF0><0x93> starts a 4-byte character that never ends: one U+FFFD per byte.
        assertEquals("a\uFFFD\uFFFDb", tok.decode(new int[] {235250, 457, 364, 235268}));
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        assertArrayEquals(tok.encode("a\uFFFDb"), tok.encode("a\uD800b"));
        assertArrayEquals(new int[] {2, 236193}, tok.encode("\uDC00"));
        assertArrayEquals(tok.encode("😀"), tok.encode("\uD83D\uDE00")); // a proper pair is left alone
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {2, 256000}));
        assertEquals("token id 256000 is outside the vocabulary [0, 256000)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.piece(-1));
    }

    @Test
    void longInputMatchesAStraightforwardBpe() {
        StringBuilder text = new StringBuilder();
        for (TokenizerCases.Case c : TokenizerCases.all()) text.append(c.text()).append(' ');
        String long3k = text.toString().repeat(2);
        NaiveBpe naive = new NaiveBpe(tok, TokenizerCases.gemmaTokenizerJson());
        for (String segment : new String[] {long3k, " ".repeat(700), "\n".repeat(300) + "x", "ab".repeat(500)}) {
            assertArrayEquals(naive.encode(segment), tok.encode(segment), () -> "segment of length " + segment.length());
        }
    }
}
