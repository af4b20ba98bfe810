package dev.loupe.analysis;

/**
 * One corpus document: text to tokenize, or token ids already made (then {@code text} is null). {@code source}
 * names where it came from (file and line) for error messages.
 */
public record Document(String source, String text, int[] tokens) {
    public static Document text(String source, String text) { return new Document(source, text, null); }

    public static Document tokens(String source, int[] tokens) { return new Document(source, null, tokens.clone()); }
}
