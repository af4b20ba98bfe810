package dev.loupe.model.backend;

import dev.loupe.errors.BadInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds a backend by name among the {@link BackendProvider}s on the class path. */
public final class Backends {
    public static final String CPU = "cpu";
    public static final String TORNADO = "tornado";

    /** What to tell a user who asks for TornadoVM where it is not installed. */
    public static final String TORNADO_MISSING = "backend 'tornado' needs TornadoVM: install it (README, 'TornadoVM backend'),"
            + " set TORNADOVM_HOME, build with 'mvn -Ptornado package' and run through bin/loupe";

    private Backends() {}

    /** The backend called {@code name} ("cpu" or "tornado") with all cores. */
    public static Backend byName(String name) { return byName(name, Runtime.getRuntime().availableProcessors()); }

    /**
     * The backend called {@code name} with up to {@code threads} host threads.
     *
     * @throws IllegalArgumentException naming the known backends, or saying how to install TornadoVM
     */
    public static Backend byName(String name, int threads) {
        List<String> known = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
            if (p.name().equals(name)) return p.create(threads);
            known.add(p.name());
        }
        if (TORNADO.equals(name)) throw new BadInputException(TORNADO_MISSING);
        throw new BadInputException("unknown backend '" + name + "': expected one of " + known);
    }
}
