package dev.loupe.sae;

import dev.loupe.model.backend.Backend;

import java.io.IOException;
import java.nio.file.Path;

/** Loads a SAELens folder: {@code cfg.json} + {@code sae_weights.safetensors}. */
final class SaeLensLoader {
    private SaeLensLoader() {}

    static Sae load(Path dir, String hook, Backend backend) throws IOException {
        SaeLensConfig cfg = SaeLensConfig.read(dir.resolve(SaeLoader.SAELENS_CONFIG));
        throw new IOException(dir + ": reading " + SaeLoader.SAELENS_WEIGHTS + " (" + cfg.architecture() + ") is not wired yet");
    }
}
