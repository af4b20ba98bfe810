package dev.loupe.model;

import dev.loupe.model.io.Npy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the inputs tests read: the reference fixtures committed in the repository's {@code fixtures/} folder (copied
 * from {@code ../shared/fixtures} by {@code bin/refresh-fixtures}) and the test data {@code bin/setup} downloads into
 * {@code .cache}. Every lookup checks that the input exists and otherwise fails with one line naming what is missing
 * and how to get it ({@link MissingTestInput}), so no test dies on a bare {@code NoSuchFileException} or in a static
 * initializer. Tests should look fixtures up with {@link #file(String)} (or the named folders below) from a test or
 * {@code @BeforeAll} method, never from a static field initializer.
 */
public final class Fixtures {
    private Fixtures() {}

    /** An input a test needs is absent: one line, no stack trace (the trace would only point at this helper). */
    public static final class MissingTestInput extends RuntimeException {
        public MissingTestInput(String message) {
            super(message, null, false, false);
        }
    }

    /** The fixtures folder: -Dloupe.fixtures (Maven sets it to the repository's fixtures/), else found upwards from here. */
    public static Path root() {
        String configured = System.getProperty("loupe.fixtures");
        Path p = configured != null ? Path.of(configured).toAbsolutePath().normalize() : repositoryRoot().resolve("fixtures");
        if (!Files.isDirectory(p)) {
            throw new MissingTestInput("test fixtures folder " + p + " is missing: it is committed in the repository's fixtures/"
                    + " (bin/refresh-fixtures copies newer ones from ../shared/fixtures); -Dloupe.fixtures=DIR points elsewhere");
        }
        return p;
    }

    /**
     * A fixture file or folder by its path under the fixtures folder, e.g. {@code "tiny-a/sae/params.npz"} or
     * {@code "tiny-g3/hf"}; fails with one line when it is absent.
     */
    public static Path file(String relative) {
        Path p = root().resolve(relative).normalize();
        if (!Files.exists(p)) {
            throw new MissingTestInput("test fixture " + relative + " is missing from " + root()
                    + ": run bin/refresh-fixtures with ../shared/fixtures beside the clone (each folder's manifest.json says where it comes from)");
        }
        return p;
    }

    /** The 4-layer Gemma 2 with random weights in every format (HF F32, BF16, GGUF F32, Q8_0, Q4_0), SAE and gradients. */
    public static Path tinyA() { return file("tiny-a"); }

    /** The 3-layer model quantized by llama.cpp into k-quant types (Q4_K, Q6_K, the Q4_K_M mixture). */
    public static Path tinyK() { return file("tiny-k"); }

    /** The Gemma 1 (2B-shaped, MQA) fixture model. */
    public static Path tinyG1a() { return file("tiny-g1a"); }

    /** The Gemma 3 fixture model and its Gemma Scope 2 SAE. */
    public static Path tinyG3() { return file("tiny-g3"); }

    /** Test data fetched by bin/setup into .cache/testdata (never committed), e.g. {@code "gemma-tokenizer/tokenizer.json"}. */
    public static Path testData(String relative) {
        Path p = testDataRoot().resolve(relative).normalize();
        if (!Files.exists(p)) throw new MissingTestInput("test data " + p + " is missing: run bin/setup (bin/test does; it needs npm)");
        return p;
    }

    /** The node_modules folder bin/setup installs into .cache/node (apache-arrow JS and its codecs). */
    public static Path nodeModules(String module) {
        Path p = testDataRoot().resolveSibling("node").resolve("node_modules").resolve(module).normalize();
        if (!Files.isDirectory(p)) throw new MissingTestInput("node module " + p + " is missing: run bin/setup (bin/test does; it needs node and npm)");
        return p;
    }

    public static Npy.Array npy(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new MissingTestInput("test input " + file + " is missing: fixtures come from bin/refresh-fixtures, downloaded data from bin/setup");
        }
        try {
            return Npy.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path testDataRoot() {
        String configured = System.getProperty("loupe.testdata");
        return configured != null ? Path.of(configured).toAbsolutePath().normalize() : repositoryRoot().resolve(".cache/testdata");
    }

    /** The nearest folder upwards from the working directory with a fixtures/ folder beside a pom.xml (IDE runs). */
    private static Path repositoryRoot() {
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("fixtures")) && Files.isRegularFile(p.resolve("pom.xml"))) return p;
        }
        return cwd.getParent() != null && Files.isRegularFile(cwd.resolve("../pom.xml")) ? cwd.getParent() : cwd;
    }
}
