package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.sae.Sae;
import dev.loupe.tools.sae.SaeBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loupe bench-sae}: SAE encode throughput on random inputs. */
@Command(name = "bench-sae", mixinStandardHelpOptions = true,
        description = "Measure SAE encode (x*W_enc + b_enc, activation, sparse features) and sparse decode throughput on standard-normal inputs.")
final class BenchSaeCommand implements Callable<Integer> {
    @Option(names = "--sae", required = true, paramLabel = "DIR", description = "SAE folder (e.g. from loupe synth-sae)")
    Path sae;

    @Option(names = "--tokens", paramLabel = "N", description = "positions encoded per timed pass (default: ${DEFAULT-VALUE})")
    int tokens = 1024;

    @Option(names = "--batch", paramLabel = "N", description = "positions per encode call, like one prompt (default: ${DEFAULT-VALUE})")
    int batch = 256;

    @Option(names = "--repeats", paramLabel = "N", description = "timed passes; the best is reported (default: ${DEFAULT-VALUE})")
    int repeats = 3;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME",
            description = "where to compute: cpu (Vector API) or tornado (TornadoVM; default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override public Integer call() throws Exception {
        if (threads < 1) throw new BadInputException("--threads must be at least 1");
        try (Backend be = Backends.byName(backend, threads); Sae s = Sae.load(sae, "bench", be)) {
            SaeBenchmark.Result r = SaeBenchmark.run(s, tokens, batch, repeats, 1);
            if (json) {
                System.out.println(dev.loupe.model.io.LoupeJson.PRETTY.writeValueAsString(r.asMap()));
            } else {
                System.out.printf(Locale.ROOT, "%s: d_in %d, d_sae %d, %s backend, %d threads%n", sae, r.dIn(), r.dSae(), r.backend(), r.threads());
                System.out.printf(Locale.ROOT, "  encode %.0f tokens/s (%.1f GFLOP/s), decode %.0f tokens/s, mean L0 %.1f (%d tokens, batches of %d)%n",
                        r.encodeTokensPerSecond(), r.encodeGflops(), r.decodeTokensPerSecond(), r.meanL0(), r.tokens(), r.batch());
            }
        }
        return 0;
    }
}
