package dev.loupe.model.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Up-front free-space checks for writers of large files, so a run that cannot finish does not start. */
public final class DiskSpace {
    private DiskSpace() {}

    /**
     * Fails when {@code bytes} would not fit on the file system holding {@code dir} (or its nearest existing
     * ancestor, for a folder not yet created).
     *
     * @param what what is being written, for the message (e.g. "params.npz (d_model 65536, width 1000000)")
     */
    public static void require(Path dir, long bytes, String what) throws IOException {
        Path p = dir.toAbsolutePath();
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null) return;
        long free = Files.getFileStore(p).getUsableSpace();
        if (bytes > free) {
            throw new IOException(dir + ": " + what + " needs " + gigabytes(bytes) + " but only " + gigabytes(free)
                    + " are free on that disk");
        }
    }

    private static String gigabytes(long bytes) { return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9); }
}
