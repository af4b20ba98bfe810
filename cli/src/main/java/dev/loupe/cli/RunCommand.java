package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.io.Npy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code loupe run}: one forward pass over token ids, saving logits and cached activations as .npy. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the model on token ids; save logits and hook-point activations as float32 .npy files.")
final class RunCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--token-ids", required = true, paramLabel = "IDS", description = "comma-separated token ids, e.g. 2,17,300")
    String tokenIds;

    @Option(names = "--logits", paramLabel = "OUT.npy", description = "write logits [seq, vocab] here")
    Path logits;

    @Option(names = "--cache", paramLabel = "GLOB", description = "hook point name or glob to cache (repeatable), e.g. 'blocks.*.hook_resid_post'")
    List<String> cache = new ArrayList<>();

    @Option(names = "--stop-after", paramLabel = "L", description = "run blocks 0..L only (no logits); for reading early hook points fast")
    Integer stopAfter;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "where cached hooks go, one <hook name>.npy each (default: .)")
    Path cacheDir = Path.of(".");

    @Override
    public Integer call() throws Exception {
        int[] ids = TokenIds.parse(tokenIds);
        if (logits != null) OutputPaths.requireFile(logits, "--logits");
        if (!cache.isEmpty()) OutputPaths.requireFolder(cacheDir, "--cache-dir");
        if (stopAfter != null) {
            if (logits != null) throw new BadInputException("--logits needs the whole model; drop --stop-after");
            if (stopAfter < 0) throw new BadInputException("--stop-after " + stopAfter + ": expected a layer number >= 0");
        }
        try (Model m = model.load()) {
            RunOptions opts = RunOptions.caching(cache.toArray(String[]::new))
                    .withLogits(logits == null ? RunOptions.Logits.NONE : RunOptions.Logits.ALL);
            if (stopAfter != null) opts = opts.stopAfter(stopAfter);
            RunResult r = m.run(ids, opts);
            if (logits != null) {
                Npy.writeFloats(logits, r.logits(), ids.length, m.config().vocabSize());
                System.out.println("logits " + ids.length + "x" + m.config().vocabSize() + " -> " + logits);
            }
            if (!cache.isEmpty()) Files.createDirectories(cacheDir);
            for (String name : r.cache().names()) {
                Activation a = r.cache().get(name);
                Path f = cacheDir.resolve(name + ".npy");
                Npy.writeFloats(f, a.data(), a.shape());
                System.out.println(name + " " + java.util.Arrays.toString(a.shape()) + " -> " + f);
            }
        }
        return 0;
    }
}
