package dev.loupe.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns ids back into text as Gemma's decoder chain does (Replace {@code ▁} → space, ByteFallback,
 * Fuse): pieces are concatenated with the space marker replaced; runs of byte pieces are decoded as
 * UTF-8, and a run that is not valid UTF-8 becomes one U+FFFD per byte.
 */
final class PieceDecoder {
    private final String spaceMarker;
    private final String space;
    private final boolean byteFallback;

    /** {@code spaceMarker} is replaced by {@code space} in every piece ({@code null}: no replacement). */
    PieceDecoder(String spaceMarker, String space, boolean byteFallback) {
        this.spaceMarker = spaceMarker;
        this.space = space;
        this.byteFallback = byteFallback;
    }

    String decode(Vocabulary vocab, int[] ids, boolean skipSpecial) {
        StringBuilder text = new StringBuilder(ids.length * 4);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            vocab.check(id);
            if (skipSpecial && vocab.isSpecial(id)) continue;
            String piece = vocab.piece(id);
            int b = byteFallback && vocab.type(id) == TokenType.BYTE ? Vocabulary.byteValue(piece) : -1;
            if (b >= 0) {
                bytes.write(b);
                continue;
            }
            flush(bytes, text);
            text.append(spaceMarker == null ? piece : piece.replace(spaceMarker, space));
        }
        flush(bytes, text);
        return text.toString();
    }

    /** What one token shows as in a table: see {@link Tokenizer#tokenText(int)}. */
    String tokenText(Vocabulary vocab, int id) {
        String piece = vocab.piece(id);
        if (vocab.type(id) == TokenType.BYTE) {
            int b = Vocabulary.byteValue(piece);
            return b >= 0 && b < 0x80 ? String.valueOf((char) b) : piece;
        }
        return spaceMarker == null ? piece : piece.replace(spaceMarker, space);
    }

    private static void flush(ByteArrayOutputStream bytes, StringBuilder text) {
        if (bytes.size() == 0) return;
        try {
            text.append(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())));
        } catch (CharacterCodingException e) {
            text.repeat('\uFFFD', bytes.size());
        }
        bytes.reset();
    }
}
