package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.weights.GgufFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Where tokenizers come from: a tokenizer.json (or a folder holding one), or a GGUF-style vocabulary. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * Loads {@code path}: a {@code tokenizer.json}, a model folder containing one, or a {@code .gguf} file's vocabulary. A
     * {@code tokenizer_config.json} beside it, when present, names the bos/eos tokens.
     */
    public static Tokenizer load(Path path) throws IOException {
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".gguf")) {
            try (GgufFile gguf = GgufFile.open(path)) {
                return fromGguf(gguf);
            }
        }
        Path file = path;
        if (Files.isDirectory(path)) {
            file = path.resolve("tokenizer.json");
            if (!Files.isRegularFile(file)) throw new NoSuchFileException(path + ": no tokenizer.json in this folder");
        } else if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString());
        } else if (!Files.isRegularFile(path)) {
            // Opening a FIFO would block until something writes to it.
            throw new IOException(path + ": not a regular file (a FIFO, socket or device?); expected a tokenizer.json");
        } else if (!path.getFileName().toString().endsWith(".json")) {
            throw new BadInputException(path + ": expected a tokenizer.json file or a folder containing one");
        }
        Path config = file.resolveSibling("tokenizer_config.json");
        return TokenizerJson.read(file, Files.isRegularFile(config) ? config : null);
    }

    /** The vocabulary a GGUF file carries ({@code tokenizer.ggml.*}); fails clearly when it has none. */
    public static Tokenizer fromGguf(GgufFile f) throws IOException {
        String model = f.getString("tokenizer.ggml.model", null);
        if (model == null) throw new IOException(f.path() + ": no tokenizer.ggml.model key: this GGUF carries no vocabulary");
        if (!model.equals("llama")) {
            throw new IOException(f.path() + ": tokenizer.ggml.model is \"" + model + "\", expected \"llama\" (SentencePiece, as Gemma's)");
        }
        if (f.getBool("tokenizer.ggml.add_space_prefix", false)) {
            throw new IOException(f.path() + ": tokenizer.ggml.add_space_prefix is true; Gemma's vocabulary has no dummy prefix and this one is not supported");
        }
        List<String> tokens = f.getStringArray("tokenizer.ggml.tokens");
        return fromSentencePieceVocab(tokens, f.getFloatArray("tokenizer.ggml.scores"), f.getIntArray("tokenizer.ggml.token_type"),
                f.getInt("tokenizer.ggml.bos_token_id", -1), f.getInt("tokenizer.ggml.eos_token_id", -1),
                f.getBool("tokenizer.ggml.add_bos_token", true));
    }

    /** {@link #fromSentencePieceVocab(List, float[], int[], int, int, boolean)} adding {@code <bos>} by default. */
    public static Tokenizer fromSentencePieceVocab(List<String> tokens, float[] scores, int[] types, int bos, int eos) {
        return fromSentencePieceVocab(tokens, scores, types, bos, eos, true);
    }

    /**
     * A SentencePiece BPE tokenizer from a vocabulary as GGUF stores it ({@code tokenizer.ggml.tokens},
     * {@code .scores}, {@code .token_type} with 1 normal, 2 unknown, 3 control, 4 user-defined,
     * 5 unused, 6 byte), normalized as Gemma's (spaces become {@code ▁}, no dummy prefix).
     *
     * <p>Pieces are merged by score as SentencePiece does. Control, unknown and user-defined pieces
     * are kept whole wherever their text appears (after normalization, so a run of spaces matches
     * the user-defined {@code ▁▁...} pieces greedily). Unlike SentencePiece, which never produces
     * control pieces from text, a literal {@code <bos>} in the text becomes the control token, as
     * Hugging Face tokenizers and llama.cpp (with special-token parsing) do.
     *
     * @param bos    id of the beginning-of-sequence token, or -1
     * @param eos    id of the end-of-sequence token, or -1
     * @param addBos whether {@link Tokenizer#encode(String)} prepends {@code bos}
     */
    public static Tokenizer fromSentencePieceVocab(List<String> tokens, float[] scores, int[] types,
                                                   int bos, int eos, boolean addBos) {
        int n = tokens.size();
        if (n == 0) throw new BadInputException("tokenizer.ggml.tokens is empty");
        if (scores.length != n) throw new BadInputException("tokenizer.ggml.scores has " + scores.length + " entries, expected " + n);
        if (types.length != n) throw new BadInputException("tokenizer.ggml.token_type has " + types.length + " entries, expected " + n);
        if (bos < -1 || bos >= n) throw new BadInputException("bos id " + bos + " is outside the vocabulary [0, " + n + ")");
        if (eos < -1 || eos >= n) throw new BadInputException("eos id " + eos + " is outside the vocabulary [0, " + n + ")");
        String[] pieces = new String[n];
        TokenType[] tokenTypes = new TokenType[n];
        int unk = -1;
        for (int id = 0; id < n; id++) {
            pieces[id] = tokens.get(id);
            if (pieces[id] == null) throw new BadInputException("tokenizer.ggml.tokens[" + id + "] is null");
            if (Float.isNaN(scores[id])) throw new BadInputException("tokenizer.ggml.scores[" + id + "] is NaN");
            try {
                tokenTypes[id] = TokenType.ofCode(types[id]);
            } catch (BadInputException e) {
                throw new BadInputException("tokenizer.ggml.token_type[" + id + "]: " + e.getMessage(), e);
            }
            if (tokenTypes[id] == TokenType.UNKNOWN && unk < 0) unk = id;
            if (tokenTypes[id] == TokenType.BYTE && Vocabulary.byteValue(pieces[id]) < 0) {
                throw new BadInputException("tokenizer.ggml.tokens[" + id + "] is \"" + pieces[id] + "\", but a byte piece must be <0xNN>");
            }
        }
        PieceIndex ids = new PieceIndex(pieces, "tokenizer.ggml.tokens");
        Vocabulary vocab = new Vocabulary(pieces, tokenTypes, ids, bos, eos, unk);
        Map<String, Integer> atomic = new HashMap<>();
        for (int id = 0; id < n; id++) if (tokenTypes[id].isAtomic()) atomic.put(pieces[id], id);
        return new PieceTokenizer(vocab, PieceMatcher.of(Map.of()), Normalizer.replace(" ", "▁"), PieceMatcher.of(atomic),
                new ScoreBpe(vocab, scores.clone()), new PieceDecoder("▁", " ", true), addBos);
    }
}
