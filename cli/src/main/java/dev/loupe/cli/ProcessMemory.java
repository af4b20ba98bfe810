package dev.loupe.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident-set figures of this process from /proc (Linux); -1 where unavailable. */
final class ProcessMemory {
    private ProcessMemory() {}

    static long rssBytes() { return field("VmRSS:"); }

    static long peakRssBytes() { return field("VmHWM:"); }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
