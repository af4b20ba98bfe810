package dev.loupe.notebook.display;

/** A piece of HTML for a notebook cell. */
public record Html(String html) implements Rich {
    public Html {
        if (html == null) throw new IllegalArgumentException("html must not be null");
    }

    @Override public String mimeType() { return "text/html"; }
    @Override public String content() { return html; }
    @Override public String toString() { return html; }

    /** Escapes text for HTML element content and attribute values. */
    public static String escape(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
