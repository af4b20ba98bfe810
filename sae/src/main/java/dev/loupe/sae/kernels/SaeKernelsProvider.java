package dev.loupe.sae.kernels;

import dev.loupe.model.backend.Backend;

/** A backend module's SAE kernels, found with {@link java.util.ServiceLoader} (META-INF/services). */
public interface SaeKernelsProvider {
    /** Kernels that run on {@code backend}, or null when it is not this provider's. */
    SaeKernels kernelsFor(Backend backend);
}
