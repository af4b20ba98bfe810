package dev.loupe.model.tokenizer;

/**
 * Text to token ids and back for a SentencePiece-style vocabulary (Gemma's).
 *
 * <p>Reserved pieces (control and user-defined ones such as {@code <start_of_turn>}) appearing in the
 * text are encoded as single tokens. Decoding turns {@code ▁} back into spaces and byte pieces
 * ({@code <0xNN>}) back into UTF-8 text; {@code decode(encode(text))} is {@code "<bos>" + text}
 * for ordinary text.
 */
public interface Tokenizer {

    /** Encodes {@code text}, prepending {@code <bos>} when the tokenizer adds it by default (Gemma's does). */
    default int[] encode(String text) { return encode(text, addsBosByDefault()); }

    /** Encodes {@code text}; {@code addBos} prepends the beginning-of-sequence token. */
    int[] encode(String text, boolean addBos);

    /** Decodes every token, special ones included. */
    default String decode(int[] ids) { return decode(ids, false); }

    /** Decodes {@code ids}; {@code skipSpecial} drops special tokens ({@code <bos>}, {@code <end_of_turn>}, ...). */
    String decode(int[] ids, boolean skipSpecial);

    /** Whether {@link #encode(String)} prepends {@code <bos>}. */
    boolean addsBosByDefault();

    int vocabSize();

    int bosId();

    /** The end-of-sequence id, or -1 when the vocabulary has none. */
    int eosId();

    /** The id of {@code piece}, or -1 when it is not in the vocabulary. */
    int id(String piece);

    /** The vocabulary entry for {@code id} as stored ({@code ▁} for spaces, {@code <0xNN>} for bytes). */
    String piece(int id);

    /**
     * What token {@code id} shows as on its own, for tables: {@code ▁} becomes a space, an ASCII byte
     * piece becomes its character, other byte pieces stay {@code <0xNN>} (one byte of a multi-byte
     * character has no text by itself), special tokens show their piece.
     */
    String tokenText(int id);

    /** Whether {@code id} is a special token (control or unknown): dropped by {@code decode(ids, true)}. */
    boolean isSpecial(int id);

    /** The SentencePiece type of piece {@code id}. */
    TokenType type(int id);
}
