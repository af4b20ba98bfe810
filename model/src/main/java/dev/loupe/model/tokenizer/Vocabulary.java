package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;

import java.util.Arrays;

/**
 * The pieces of a SentencePiece-style vocabulary with their types, and the ids the tokenizer needs:
 * beginning/end of sequence, unknown, and the id of each byte piece {@code <0xNN>}.
 */
final class Vocabulary {
    private final String[] pieces;
    private final TokenType[] types;
    private final PieceIndex ids;
    private final int[] byteIds = new int[256];
    private final boolean hasBytePieces;
    final int bos;
    final int eos;
    final int unk;

    /** {@code ids} must index exactly {@code pieces}. */
    Vocabulary(String[] pieces, TokenType[] types, PieceIndex ids, int bos, int eos, int unk) {
        if (ids.size() != pieces.length || types.length != pieces.length) throw new IllegalArgumentException("vocabulary parts differ in size");
        this.pieces = pieces;
        this.types = types;
        this.ids = ids;
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        Arrays.fill(byteIds, -1);
        boolean any = false;
        for (int id = 0; id < pieces.length; id++) {
            if (types[id] == TokenType.BYTE) {
                int b = byteValue(pieces[id]);
                if (b < 0) throw new BadInputException("byte piece " + id + " is \"" + pieces[id] + "\", expected <0xNN>");
                if (byteIds[b] < 0) byteIds[b] = id;
                any = true;
            }
        }
        hasBytePieces = any;
    }

    /** The byte {@code <0xNN>} stands for, or -1 when {@code piece} is not of that form. */
    static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16), lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
    }

    int size() { return pieces.length; }

    int id(String piece) { return ids.id(piece); }

    String piece(int id) {
        check(id);
        return pieces[id];
    }

    TokenType type(int id) {
        check(id);
        return types[id];
    }

    /** The id of the piece {@code <0xNN>} for byte {@code b}, or -1. */
    int byteId(int b) { return byteIds[b]; }

    boolean hasBytePieces() { return hasBytePieces; }

    /** Control and unknown pieces: markers, not text; {@code decode(ids, true)} drops them. */
    boolean isSpecial(int id) {
        TokenType t = type(id);
        return t == TokenType.CONTROL || t == TokenType.UNKNOWN;
    }

    void check(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new BadInputException("token id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
    }
}
