package dev.loupe.cli;

import dev.loupe.model.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints generated tokens as text as they arrive. Decodes the whole continuation each time and prints
 * what is new, because a character split across byte-fallback tokens only becomes text once complete.
 */
final class TextStream {
    private final Tokenizer tok;
    private final PrintStream out;
    private final List<Integer> ids = new ArrayList<>();
    private String printed = "";

    TextStream(Tokenizer tok, PrintStream out) {
        this.tok = tok;
        this.out = out;
    }

    void accept(int id) {
        ids.add(id);
        String text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray(), true);
        if (text.startsWith(printed) && !text.endsWith("\uFFFD")) {
            out.print(text.substring(printed.length()));
            out.flush();
            printed = text;
        }
    }

    void finish() {
        String text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray(), true);
        if (text.startsWith(printed)) out.print(text.substring(printed.length()));
        out.flush();
    }

    String text() { return tok.decode(ids.stream().mapToInt(Integer::intValue).toArray(), true); }
}
