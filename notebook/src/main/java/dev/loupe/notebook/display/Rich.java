package dev.loupe.notebook.display;

/**
 * Something a notebook shows as rich output: a MIME type and its content. The notebook kernel's start-up script
 * (notebooks/init.jshell) renders any {@code Rich} value a cell ends with as {@link #content()}; the charts' and
 * tables' {@code toString()} is that content too, so kernels that show {@code toString()} as HTML render them.
 */
public interface Rich {
    /** {@code text/html} or {@code image/svg+xml}. */
    String mimeType();

    /** The markup. */
    String content();

    /** One line for plain-text front ends. */
    default String summary() { return getClass().getSimpleName(); }
}
