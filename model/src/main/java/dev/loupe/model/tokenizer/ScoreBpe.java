package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * BPE as SentencePiece runs it from a vocabulary with scores (what a GGUF file carries): start from
 * one symbol per character, then keep merging the adjacent pair whose concatenation is a piece with
 * the highest score, leftmost first on ties. Only normal, user-defined and unused pieces can be
 * formed by merging; an unused piece left at the end is split back into the two symbols that made
 * it. Symbols not in the vocabulary become their UTF-8 byte pieces, or the unknown token.
 */
final class ScoreBpe implements SegmentModel {
    private final Vocabulary vocab;
    private final float[] scores;

    ScoreBpe(Vocabulary vocab, float[] scores) {
        this.vocab = vocab;
        this.scores = scores;
    }

    @Override
    public void encode(String text, IntList out) {
        if (text.isEmpty()) return;
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n], end = new int[n], prev = new int[n], next = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0, at = 0; i < n; i++) {
            start[i] = at;
            at += Character.charCount(text.codePointAt(at));
            end[i] = at;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        Map<String, String[]> unusedMerges = null;
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) offer(heap, text, start, end, i, i + 1);
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int left = (int) top, right = next[left];
            if (dead[left] || right < 0) continue;
            String merged = text.substring(start[left], end[right]);
            int id = vocab.id(merged);
            // Stale candidates: the pair at this position changed since it was queued.
            if (!mergeable(id) || priority(id) != (int) (top >> 32)) continue;
            if (vocab.type(id) == TokenType.UNUSED) {
                if (unusedMerges == null) unusedMerges = new HashMap<>();
                unusedMerges.put(merged, new String[] {
                        text.substring(start[left], end[left]), text.substring(start[right], end[right])});
            }
            end[left] = end[right];
            dead[right] = true;
            next[left] = next[right];
            if (next[left] >= 0) prev[next[left]] = left;
            if (prev[left] >= 0) offer(heap, text, start, end, prev[left], left);
            if (next[left] >= 0) offer(heap, text, start, end, left, next[left]);
        }
        boolean[] lastWasUnknown = {false};
        for (int i = 0; i >= 0; i = next[i]) emit(text.substring(start[i], end[i]), unusedMerges, out, lastWasUnknown);
    }

    private boolean mergeable(int id) {
        if (id < 0) return false;
        TokenType t = vocab.type(id);
        return t == TokenType.NORMAL || t == TokenType.USER_DEFINED || t == TokenType.UNUSED;
    }

    /** Smaller is merged first: higher scores, as an order-preserving int, negated. */
    private int priority(int id) {
        int bits = Float.floatToIntBits(scores[id] + 0.0f); // + 0.0f folds -0.0 into 0.0, which compare equal
        return ~(bits ^ ((bits >> 31) & 0x7fffffff));
    }

    private void offer(LongHeap heap, String text, int[] start, int[] end, int left, int right) {
        int id = vocab.id(text.substring(start[left], end[right]));
        if (mergeable(id)) heap.push((long) priority(id) << 32 | left);
    }

    private void emit(String piece, Map<String, String[]> unusedMerges, IntList out, boolean[] lastWasUnknown) {
        int id = vocab.id(piece);
        if (id >= 0 && vocab.type(id) == TokenType.UNUSED && unusedMerges != null) {
            String[] parts = unusedMerges.get(piece);
            if (parts != null) {
                emit(parts[0], unusedMerges, out, lastWasUnknown);
                emit(parts[1], unusedMerges, out, lastWasUnknown);
                return;
            }
        }
        if (id >= 0) {
            out.add(id);
            lastWasUnknown[0] = false;
            return;
        }
        if (vocab.hasBytePieces()) {
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int byteId = vocab.byteId(b & 0xff);
                if (byteId >= 0) {
                    out.add(byteId);
                    lastWasUnknown[0] = false;
                } else {
                    addUnknown(piece, out, lastWasUnknown);
                }
            }
            return;
        }
        addUnknown(piece, out, lastWasUnknown);
    }

    private void addUnknown(String piece, IntList out, boolean[] lastWasUnknown) {
        if (vocab.unk < 0) {
            throw new BadInputException("\"" + piece + "\" has no piece, and the vocabulary has neither byte pieces nor an unknown token");
        }
        if (!lastWasUnknown[0]) out.add(vocab.unk);
        lastWasUnknown[0] = true;
    }
}
