package dev.loupe.tornado;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.BackendProvider;
import dev.loupe.model.backend.Backends;

/**
 * Registers {@link TornadoBackend} as {@code "tornado"}. The device arena (activations and KV cache) is
 * {@code -Dloupe.tornado.arena.mb} megabytes (default 512); {@code -Dloupe.tornado.profile=true} collects kernel times.
 */
public final class TornadoBackendProvider implements BackendProvider {
    @Override public String name() { return Backends.TORNADO; }

    @Override
    public Backend create(int threads) {
        int mb = Integer.getInteger("loupe.tornado.arena.mb", 512);
        if (mb < 1 || mb > 8191) throw new IllegalArgumentException("-Dloupe.tornado.arena.mb must be in [1, 8191], got " + mb);
        return new TornadoBackend(threads, mb << 18, Boolean.getBoolean("loupe.tornado.profile"));
    }
}
