package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;






/** SentencePiece piece types, numbered as GGUF's {@code tokenizer.ggml.token_type} numbers them. */
public enum TokenType {
    NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    private final int code;

    TokenType(int code) { this.code = code; }

    /** The GGUF number of this type. */
    public int code() { return code; }

    /** The type with GGUF number {@code code}. */
    public static TokenType ofCode(int code) {
        for (TokenType t : values()) if (t.code == code) return t;
        throw new BadInputException("token type " + code + " is not one of 1 (normal) .. 6 (byte)");
    }

    /** Pieces encoded as one token wherever their text appears in the input. */
    boolean isAtomic() { return this == CONTROL || this == USER_DEFINED || this == UNKNOWN; }
}
