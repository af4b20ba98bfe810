package dev.loupe.analysis;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * A corpus on disk: a {@code .txt} file (one document per non-empty line), a {@code .jsonl} file (one JSON
 * object per line with a string {@code text} field, or an int array {@code tokens} field of token ids already
 * made), or a folder of such files (read in name order). A malformed line fails with its file and line number
 * unless skipping is asked for.
 */
public final class Corpus {
    private Corpus() {}

    /** The documents of {@code path}; malformed lines fail, or are reported to {@code progress} and skipped. */
    public static Iterator<Document> read(Path path, boolean skipBadLines, IndexProgress progress) throws IOException {
        throw new UnsupportedOperationException("analysis API skeleton");
    }

    /** SHA-256 of the corpus files' bytes (names and contents, in reading order), hex. */
    public static String sha256(Path path) throws IOException { throw new UnsupportedOperationException("analysis API skeleton"); }
}
