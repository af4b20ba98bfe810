package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;

import java.nio.charset.StandardCharsets;

/**
 * BPE driven by a merges list, as Hugging Face tokenizers runs it: start from one symbol per
 * character (characters missing from the vocabulary become their UTF-8 byte pieces), then keep
 * applying the lowest-ranked merge among adjacent pairs, leftmost first on ties. Candidates sit in a
 * heap and symbols in a linked list, so a segment of n characters costs O(n log n).
 */
final class MergeRankBpe implements SegmentModel {
    private final Vocabulary vocab;
    private final PairRanks merges;
    private final boolean byteFallback;
    private final boolean fuseUnknown;
    private final boolean ignoreMerges;

    MergeRankBpe(Vocabulary vocab, PairRanks merges, boolean byteFallback, boolean fuseUnknown, boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.byteFallback = byteFallback;
        this.fuseUnknown = fuseUnknown;
        this.ignoreMerges = ignoreMerges;
    }

    @Override
    public void encode(String text, IntList out) {
        if (text.isEmpty()) return;
        if (ignoreMerges) {
            int whole = vocab.id(text);
            if (whole >= 0) {
                out.add(whole);
                return;
            }
        }
        int[] ids = initialSymbols(text);
        int n = ids.length;
        int[] next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) offer(heap, ids, i, i + 1);
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32), pos = (int) top;
            int right = next[pos];
            // Stale candidates: the left symbol was merged away, or its neighbour changed.
            if (ids[pos] < 0 || right < 0 || merges.rank(ids[pos], ids[right]) != rank) continue;
            ids[pos] = merges.mergedId(rank);
            ids[right] = -1;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) offer(heap, ids, prev[pos], pos);
            if (next[pos] >= 0) offer(heap, ids, pos, next[pos]);
        }
        for (int i = 0; i >= 0; i = next[i]) out.add(ids[i]);
    }

    private void offer(LongHeap heap, int[] ids, int left, int right) {
        int rank = merges.rank(ids[left], ids[right]);
        if (rank >= 0) heap.push((long) rank << 32 | left);
    }

    /** One id per character, or per byte for characters without a piece, or one unknown per unknown run. */
    private int[] initialSymbols(String text) {
        IntList symbols = new IntList(text.length());
        boolean lastWasUnknown = false;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int len = Character.charCount(cp);
            String ch = text.substring(i, i + len);
            i += len;
            int id = vocab.id(ch);
            if (id >= 0) {
                symbols.add(id);
                lastWasUnknown = false;
            } else if (byteFallback && addBytes(ch, symbols)) {
                lastWasUnknown = false;
            } else {
                if (vocab.unk < 0) {
                    throw new BadInputException(String.format(
                            "character U+%04X has no piece, and the vocabulary has neither its byte pieces nor an unknown token", cp));
                }
                if (!(fuseUnknown && lastWasUnknown)) symbols.add(vocab.unk);
                lastWasUnknown = true;
            }
        }
        return symbols.toArray();
    }

    private boolean addBytes(String ch, IntList symbols) {
        byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) if (vocab.byteId(b & 0xff) < 0) return false;
        for (byte b : bytes) symbols.add(vocab.byteId(b & 0xff));
        return true;
    }
}
