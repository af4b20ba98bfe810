package dev.loupe.model.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading: folders, small hand-written tokenizer.json files, and one-line errors for bad ones. */
class TokenizersLoadTest {
    @TempDir Path dir;

    private static final String SMALL = SmallTokenizerJson.TEXT;

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    @Test
    void smallFileEncodesByMergeRank() throws Exception {
        Tokenizer t = Tokenizers.load(write("tokenizer.json", SMALL));
        assertArrayEquals(new int[] {2, 11}, t.encode(" ab"));        // ▁a (rank 0), then ▁ab (rank 2)
        assertArrayEquals(new int[] {2, 10, 6}, t.encode("ab "));
        assertArrayEquals(new int[] {2, 4, 5, 12, 7}, t.encode("é<turn>a")); // bytes, added token, plain
        assertArrayEquals(new int[] {2, 3}, t.encode("xyz"));          // no byte pieces for x, y, z: one fused <unk>
        assertEquals("<bos> abé<turn>", t.decode(new int[] {2, 11, 4, 5, 12}));
        assertEquals(" abé", t.decode(new int[] {2, 11, 4, 5, 12}, true));
        assertEquals(2, t.bosId());
        assertEquals(1, t.eosId());
        assertTrue(t.isSpecial(12));
        assertFalse(t.isSpecial(11));
    }

    @Test
    void loadsFromAFolderWithItsConfig() throws Exception {
        write("tokenizer.json", SMALL);
        write("tokenizer_config.json", "{\"bos_token\": \"<bos>\", \"eos_token\": {\"content\": \"<turn>\"}, \"add_bos_token\": false,"
                + " \"model_max_length\": 1000000000000000019884624838656}");
        Tokenizer t = Tokenizers.load(dir);
        assertEquals(12, t.eosId());
        assertFalse(t.addsBosByDefault());
        assertArrayEquals(new int[] {11}, t.encode(" ab"));
    }

    @Test
    void realGemmaFolderLoads() throws Exception {
        Tokenizer t = Tokenizers.load(TokenizerCases.gemmaTokenizerJson().getParent());
        assertEquals(256000, t.vocabSize());
        assertArrayEquals(new int[] {2, 106}, t.encode("<start_of_turn>"));
    }

    @Test
    void missingFilesNameThePath() {
        Path missing = dir.resolve("nope.json");
        assertEquals(missing.toString(), assertThrows(NoSuchFileException.class, () -> Tokenizers.load(missing)).getMessage());
        assertEquals(dir + ": no tokenizer.json in this folder",
                assertThrows(NoSuchFileException.class, () -> Tokenizers.load(dir)).getMessage());
    }

    @Test
    void otherFileKindsAreRefused() throws Exception {
        Path bin = write("model.bin", "x");
        assertEquals(bin + ": expected a tokenizer.json file or a folder containing one",
                assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(bin)).getMessage());
    }

    @Test
    void malformedJsonIsOneLineWithItsPosition() throws Exception {
        Path p = write("tokenizer.json", SMALL.substring(0, SMALL.length() / 2));
        IOException e = assertThrows(IOException.class, () -> Tokenizers.load(p));
        assertTrue(e.getMessage().startsWith(p + ": malformed JSON at line "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private String loadError(String json) throws IOException {
        Path p = write("tokenizer.json", json);
        return assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(p)).getMessage().substring(p.toString().length() + 2);
    }

    @Test
    void unsupportedOrInconsistentContentIsNamed() throws Exception {
        assertEquals("model.merges[3] \"a ▁\": \"a▁\" is not in model.vocab",
                loadError(SMALL.replace("\"▁a b\"]", "\"▁a b\", \"a ▁\"]")));
        assertEquals("model.merges[3] \"x b\": \"x\" is not in model.vocab",
                loadError(SMALL.replace("\"▁a b\"]", "\"▁a b\", \"x b\"]")));
        assertEquals("model.merges[0] \"▁a\" is not two pieces separated by one space",
                loadError(SMALL.replace("\"▁ a\"", "\"▁a\"")));
        assertEquals("model.type \"Unigram\" is not supported (expected BPE)",
                loadError(SMALL.replace("\"type\": \"BPE\"", "\"type\": \"Unigram\"")));
        assertEquals("pre_tokenizer Metaspace is not supported (Gemma's tokenizer.json has none;"
                        + " Gemma 3's splits on a space the normalizer has already replaced)",
                loadError(SMALL.replace("\"pre_tokenizer\": null", "\"pre_tokenizer\": {\"type\": \"Metaspace\"}")));
        assertEquals("model.vocab: id 8 is used by both \"b\" and \"c\"",
                loadError(SMALL.replace("\"▁a\": 9", "\"c\": 8, \"▁a\": 9")));
        assertEquals("model.vocab has no piece for id 11", loadError(SMALL.replace("\"▁ab\": 11", "\"▁ab\": 13")
                .replace("\"▁a b\"", "\"a b\"")));
        assertEquals("added_tokens: id 3 is \"<unknown>\" but model.vocab has \"<unk>\"",
                loadError(SMALL.replace("\"content\": \"<unk>\"", "\"content\": \"<unknown>\"")));
        assertEquals("decoder: Strip is not supported",
                loadError(SMALL.replace("{\"type\": \"Fuse\"}", "{\"type\": \"Strip\"}")));
        assertEquals("model.vocab is missing", loadError("{\"model\": {\"type\": \"BPE\"}}"));
    }
}
