package dev.loupe.sae;

import dev.loupe.model.ReferenceBackend;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The tiny-a SAE fixture: a Gemma-Scope-style JumpReLU SAE at blocks.2.hook_resid_post with numpy references. */
final class SaeFixture {
    static final String HOOK = "blocks.2.hook_resid_post";

    private SaeFixture() {}

    static Path dir() { return Fixtures.file("tiny-a/sae"); }

    static Npy.Array npy(String name) { return Fixtures.npy(dir().resolve(name)); }

    static JsonNode manifest() {
        try {
            return new ObjectMapper().readTree(dir().resolve("manifest.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Sae load() {
        try {
            return Sae.load(dir(), HOOK, new ReferenceBackend());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
