package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;






/**
 * Piece → id lookup over the vocabulary's own strings: open addressing with the strings' hash codes
 * kept in a flat array. It also looks up text sitting in a parser's char buffer without making a
 * String of it, which is what makes resolving 580k merges at load time cheap.
 */
final class PieceIndex {
    private final String[] pieces;
    private final int[] slotIds;
    private final int[] slotHashes;
    private final int mask;

    /** Indexes {@code pieces} (by id); {@code where} names the source in the duplicate-piece error. */
    PieceIndex(String[] pieces, String where) {
        this.pieces = pieces;
        int size = Integer.highestOneBit(Math.max(pieces.length, 4) * 2 - 1) * 2;
        slotIds = new int[size];
        slotHashes = new int[size];
        mask = size - 1;
        java.util.Arrays.fill(slotIds, -1);
        for (int id = 0; id < pieces.length; id++) {
            String piece = pieces[id];
            int h = piece.hashCode();
            int s = spread(h);
            while (slotIds[s] >= 0) {
                if (slotHashes[s] == h && pieces[slotIds[s]].equals(piece)) {
                    throw new BadInputException(where + ": piece \"" + piece + "\" appears twice (ids " + slotIds[s] + " and " + id + ")");
                }
                s = (s + 1) & mask;
            }
            slotIds[s] = id;
            slotHashes[s] = h;
        }
    }

    private int spread(int h) { return (h ^ (h >>> 16)) * 0x9E3779B1 >>> 7 & mask; }

    int size() { return pieces.length; }

    /** The id of {@code piece}, or -1. */
    int id(String piece) {
        int h = piece.hashCode();
        for (int s = spread(h); slotIds[s] >= 0; s = (s + 1) & mask) {
            if (slotHashes[s] == h && pieces[slotIds[s]].equals(piece)) return slotIds[s];
        }
        return -1;
    }

    /**
     * The id of the text {@code buf[off, off+len)} with the char at index {@code skip} left out
     * ({@code skip} < 0: nothing left out), or -1.
     */
    int id(char[] buf, int off, int len, int skip) {
        int h = 0;
        for (int i = off; i < off + len; i++) if (i != skip) h = 31 * h + buf[i];
        int textLen = skip >= 0 ? len - 1 : len;
        for (int s = spread(h); slotIds[s] >= 0; s = (s + 1) & mask) {
            if (slotHashes[s] == h && matches(pieces[slotIds[s]], textLen, buf, off, len, skip)) return slotIds[s];
        }
        return -1;
    }

    private static boolean matches(String piece, int textLen, char[] buf, int off, int len, int skip) {
        if (piece.length() != textLen) return false;
        int j = 0;
        for (int i = off; i < off + len; i++) {
            if (i == skip) continue;
            if (piece.charAt(j++) != buf[i]) return false;
        }
        return true;
    }
}
