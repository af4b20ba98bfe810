package dev.loupe.sae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Fixtures;
import dev.loupe.model.ReferenceBackend;
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

    /** The hook points of tiny-a (4 layers), which hooks are bound against as the forward pass binds them. */
    static final HookPoints POINTS = new HookPoints(4);

    /** The numpy reference input {@code sae_input.npy} [positions, 64] as an activation at {@link #HOOK}. */
    static Activation input() {
        Npy.Array x = npy("sae_input.npy");
        return new Activation(HOOK, new int[]{x.shape()[0], 64}, x.data().clone(), 0);
    }

    /** Binds {@code hooks} to tiny-a's registry and fires the model point {@code a} is named after. */
    static void fire(HookSet hooks, Activation a) { hooks.bind(POINTS).fire(POINTS.id(a.name()), a); }

    static Sae load() {
        try {
            return Sae.load(dir(), HOOK, new ReferenceBackend());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
