package dev.loupe.analysis;

/** Hears how a corpus run goes (the CLI draws its progress bar from this). Called on the indexing thread. */
public interface IndexProgress {
    /** After each window: corpus tokens done so far (resumed ones included) and the total when known (else -1). */
    default void tokens(long done, long total) {}

    /** A phase starts: "index", "resume" (an interrupted run), "check" (a complete run's files against run.json), "summarise". */
    default void phase(String name) {}

    /** A skipped malformed corpus line. */
    default void warning(String message) {}

    IndexProgress NONE = new IndexProgress() {};
}
