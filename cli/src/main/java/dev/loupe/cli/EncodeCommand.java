package dev.loupe.cli;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Model;
import dev.loupe.model.io.Npy;
import dev.loupe.sae.Sae;
import dev.loupe.sae.metrics.SaeMetrics;
import dev.loupe.sae.SparseFeatures;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code loupe encode}: SAE features of token ids at the SAE's hook point, saved as .npy. */
@Command(name = "encode", mixinStandardHelpOptions = true,
        description = "Encode the activation at the SAE's hook point; write feature_acts.npy [seq, d_sae], reconstruction.npy [seq, d_in] and l0.npy [seq].")
final class EncodeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin SaeOptions saeOptions;

    @Option(names = "--token-ids", required = true, paramLabel = "IDS", description = "comma-separated token ids, e.g. 2,17,300")
    String tokenIds;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created if missing)")
    Path out;

    @Override public Integer call() throws Exception {
        int[] ids = TokenIds.parse(tokenIds);
        OutputPaths.requireFolder(out, "--out");
        try (Model m = model.load(); Sae sae = saeOptions.load(m)) {
            Activation x = SaeOptions.activation(m, sae, ids);
            SparseFeatures f = sae.encode(x);
            float[] recon = sae.decode(f);
            Files.createDirectories(out);
            Npy.writeFloats(out.resolve("feature_acts.npy"), f.dense(), ids.length, sae.dSae());
            Npy.writeFloats(out.resolve("reconstruction.npy"), recon, ids.length, sae.dIn());
            Npy.writeInts(out.resolve("l0.npy"), f.l0(), ids.length);
            System.out.printf(java.util.Locale.ROOT, "%s: %d positions, d_sae %d, mean L0 %.1f, FVU %.4f -> %s%n", sae.hookName(),
                    ids.length, sae.dSae(), SaeMetrics.meanL0(f.l0()), SaeMetrics.fvu(x.data(), recon, ids.length, sae.dIn()), out);
        }
        return 0;
    }
}
