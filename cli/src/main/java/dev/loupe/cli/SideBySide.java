package dev.loupe.cli;

import java.util.ArrayList;
import java.util.List;

/** Two texts in two columns, word-wrapped, for comparing continuations. */
final class SideBySide {
    private SideBySide() {}

    static String render(String leftTitle, String left, String rightTitle, String right, int totalWidth) {
        int w = Math.max(20, (totalWidth - 3) / 2);
        List<String> l = wrap(left, w), r = wrap(right, w);
        StringBuilder sb = new StringBuilder();
        sb.append(pad(leftTitle, w)).append(" | ").append(rightTitle).append('\n');
        sb.append("-".repeat(w)).append("-+-").append("-".repeat(w)).append('\n');
        for (int i = 0; i < Math.max(l.size(), r.size()); i++) {
            String a = i < l.size() ? l.get(i) : "", b = i < r.size() ? r.get(i) : "";
            sb.append(pad(a, w)).append(" | ").append(b).append('\n');
        }
        return sb.toString();
    }

    /** Greedy word wrap that keeps explicit line breaks and splits words longer than a line. */
    static List<String> wrap(String text, int width) {
        List<String> out = new ArrayList<>();
        for (String para : text.split("\n", -1)) {
            StringBuilder line = new StringBuilder();
            for (String word : para.split(" ")) {
                while (word.length() > width) {
                    if (!line.isEmpty()) { out.add(line.toString()); line.setLength(0); }
                    out.add(word.substring(0, width));
                    word = word.substring(width);
                }
                if (!line.isEmpty() && line.length() + 1 + word.length() > width) { out.add(line.toString()); line.setLength(0); }
                if (!line.isEmpty()) line.append(' ');
                line.append(word);
            }
            out.add(line.toString());
        }
        return out;
    }

    private static String pad(String s, int w) { return s.length() >= w ? s : s + " ".repeat(w - s.length()); }
}
