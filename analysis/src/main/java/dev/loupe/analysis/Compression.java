package dev.loupe.analysis;

import com.fasterxml.jackson.annotation.JsonValue;
import dev.loupe.errors.BadInputException;

/** Arrow IPC body compression of the files a run writes ({@code --compression}). */
public enum Compression {
    ZSTD("zstd"),
    LZ4("lz4"),
    NONE("none");

    private final String flag;

    Compression(String flag) { this.flag = flag; }

    /** The name run.json and {@code --compression} use (and JSON output shows). */
    @JsonValue
    public String flag() { return flag; }

    public static Compression parse(String s) {
        for (Compression c : values()) if (c.flag.equalsIgnoreCase(s) || c.name().equalsIgnoreCase(s)) return c;
        if ("lz4_frame".equalsIgnoreCase(s)) return LZ4;
        throw BadInputException.of("compression", "expected zstd, lz4 or none, got '" + s + "'");
    }
}
