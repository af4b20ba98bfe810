package dev.loupe.model;

import dev.loupe.model.io.Npy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared reference fixtures (../shared/fixtures) and the downloaded test data. */
public final class Fixtures {
    private Fixtures() {}

    public static Path root() {
        Path p = Path.of(System.getProperty("loupe.fixtures", "../shared/fixtures")).toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) throw new IllegalStateException("fixtures not found at " + p + " (set -Dloupe.fixtures)");
        return p;
    }

    public static Path tinyA() { return root().resolve("tiny-a"); }

    /** The 3-layer model quantized by llama.cpp into k-quant types (Q4_K, Q6_K, the Q4_K_M mixture). */
    public static Path tinyK() { return root().resolve("tiny-k"); }

    /** Test data fetched by bin/setup (never committed). */
    public static Path testData(String relative) {
        Path p = Path.of(System.getProperty("loupe.testdata", ".cache/testdata")).resolve(relative).toAbsolutePath().normalize();
        if (!Files.exists(p)) throw new IllegalStateException(p + " is missing: run bin/setup (bin/test does)");
        return p;
    }

    public static Npy.Array npy(Path file) {
        try {
            return Npy.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
