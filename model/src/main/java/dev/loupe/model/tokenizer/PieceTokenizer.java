package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;

import java.util.Objects;

/**
 * A tokenizer assembled from its parts: reserved pieces are cut out of the text first (some on the
 * raw text, some after normalization, as the source format says), the rest is normalized and split
 * by a BPE model; decoding is shared.
 */
final class PieceTokenizer implements Tokenizer {
    private final Vocabulary vocab;
    private final PieceMatcher rawPieces;
    private final Normalizer normalizer;
    private final PieceMatcher normalizedPieces;
    private final SegmentModel model;
    private final PieceDecoder decoder;
    private final boolean addBos;

    PieceTokenizer(Vocabulary vocab, PieceMatcher rawPieces, Normalizer normalizer, PieceMatcher normalizedPieces,
                   SegmentModel model, PieceDecoder decoder, boolean addBos) {
        this.vocab = vocab;
        this.rawPieces = rawPieces;
        this.normalizer = normalizer;
        this.normalizedPieces = normalizedPieces;
        this.model = model;
        this.decoder = decoder;
        this.addBos = addBos;
        if (addBos && vocab.bos < 0) throw new BadInputException("the tokenizer adds <bos> but has no <bos> token");
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        text = withoutLoneSurrogates(Objects.requireNonNull(text, "text"));
        IntList out = new IntList(text.length() / 3 + 2);
        if (addBos) {
            if (vocab.bos < 0) throw new BadInputException("this tokenizer has no <bos> token");
            out.add(vocab.bos);
        }
        PieceMatcher.Sink emitNormalized = new PieceMatcher.Sink() {
            @Override public void text(String segment) { model.encode(segment, out); }

            @Override public void piece(int id) { out.add(id); }
        };
        rawPieces.split(text, new PieceMatcher.Sink() {
            @Override public void text(String segment) { normalizedPieces.split(normalizer.normalize(segment), emitNormalized); }

            @Override public void piece(int id) { out.add(id); }
        });
        return out.toArray();
    }

    /**
     * A Java string may hold half of a surrogate pair, which is no character and has no UTF-8 bytes;
     * it becomes U+FFFD, as a UTF-8 encoder (JavaScript's TextEncoder, Python's "replace") makes it.
     */
    private static String withoutLoneSurrogates(String text) {
        StringBuilder fixed = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isSurrogate(c)) continue;
            boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
            if (paired) {
                i++;
                continue;
            }
            if (fixed == null) fixed = new StringBuilder(text);
            fixed.setCharAt(i, '\uFFFD');
        }
        return fixed == null ? text : fixed.toString();
    }

    @Override public String decode(int[] ids, boolean skipSpecial) { return decoder.decode(vocab, ids, skipSpecial); }

    @Override public boolean addsBosByDefault() { return addBos; }

    @Override public int vocabSize() { return vocab.size(); }

    @Override public int bosId() { return vocab.bos; }

    @Override public int eosId() { return vocab.eos; }

    @Override public int id(String piece) { return vocab.id(piece); }

    @Override public String piece(int id) { return vocab.piece(id); }

    @Override public String tokenText(int id) { return decoder.tokenText(vocab, id); }

    @Override public boolean isSpecial(int id) { return vocab.isSpecial(id); }

    @Override public TokenType type(int id) { return vocab.type(id); }
}
