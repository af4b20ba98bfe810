package dev.loupe.model.backend;

/**
 * A backend implementation that {@link Backends#byName} can find with {@link java.util.ServiceLoader}: the CPU one
 * in this module, TornadoVM's in the {@code tornado} module when its jar is on the class path.
 */
public interface BackendProvider {

    /** The name users pass to {@code --backend}. */
    String name();

    /** A new backend using up to {@code threads} host threads. */
    Backend create(int threads);
}
