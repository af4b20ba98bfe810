package dev.loupe.model.cpu;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.BackendProvider;
import dev.loupe.model.backend.Backends;

/** Registers {@link CpuBackend} as {@code "cpu"} for {@link Backends#byName}. */
public final class CpuBackendProvider implements BackendProvider {
    @Override public String name() { return Backends.CPU; }

    @Override public Backend create(int threads) { return new CpuBackend(threads); }
}
