package dev.loupe.model.tokenizer;

import java.util.HashMap;
import java.util.Map;

/**
 * Finds reserved pieces ({@code <start_of_turn>}, {@code \n\n}, ...) in text, leftmost first and
 * longest at each position, and splits the text around them.
 */
final class PieceMatcher {

    /** Receives the pieces in order: plain text between matches, and matched ids. */
    interface Sink {
        void text(String segment);

        void piece(int id);
    }

    private static final class Node {
        final Map<Character, Node> children = new HashMap<>(4);
        int id = -1;
    }

    private final Node root = new Node();
    private final java.util.BitSet firstChars = new java.util.BitSet(1 << 16);
    private boolean empty = true;

    /** A matcher for every entry of {@code pieces} (piece → id); empty pieces are ignored. */
    static PieceMatcher of(Map<String, Integer> pieces) {
        PieceMatcher m = new PieceMatcher();
        pieces.forEach(m::add);
        return m;
    }

    private void add(String piece, int id) {
        if (piece.isEmpty()) return;
        firstChars.set(piece.charAt(0));
        Node n = root;
        for (int i = 0; i < piece.length(); i++) n = n.children.computeIfAbsent(piece.charAt(i), c -> new Node());
        n.id = id;
        empty = false;
    }

    void split(String text, Sink sink) {
        if (empty) {
            if (!text.isEmpty()) sink.text(text);
            return;
        }
        int segmentStart = 0, i = 0, n = text.length();
        while (i < n) {
            if (!firstChars.get(text.charAt(i))) {
                i++;
                continue;
            }
            int matchEnd = -1, matchId = -1;
            Node node = root;
            for (int j = i; j < n; j++) {
                node = node.children.get(text.charAt(j));
                if (node == null) break;
                if (node.id >= 0) {
                    matchEnd = j + 1;
                    matchId = node.id;
                }
            }
            if (matchEnd < 0) {
                i++;
                continue;
            }
            if (segmentStart < i) sink.text(text.substring(segmentStart, i));
            sink.piece(matchId);
            i = segmentStart = matchEnd;
        }
        if (segmentStart < n) sink.text(text.substring(segmentStart));
    }
}
