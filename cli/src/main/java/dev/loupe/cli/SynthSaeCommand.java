package dev.loupe.cli;

import dev.loupe.analysis.Corpus;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.GemmaScopeLayout;
import dev.loupe.sae.fit.ExemplarSae;
import dev.loupe.sae.fit.HookSample;
import dev.loupe.tools.sae.SyntheticSae;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code loupe synth-sae}: writes a Gemma-Scope-shaped SAE (params.npz), either random (for benchmarks and tests)
 * or, with {@code --fit-model}, an exemplar dictionary fitted to a model's activations on a corpus.
 */
@Command(name = "synth-sae", mixinStandardHelpOptions = true,
        description = {"Write a JumpReLU SAE as a Gemma Scope params.npz.",
                "Random (--d-model): W_enc = W_dec^T, threshold tuned to an L0 on standard-normal inputs.",
                "Fitted (--fit-model, --fit-corpus): no training; decoder rows are spherical k-means centroids of the hook's "
                        + "centred activations over the corpus (<bos> left out), thresholds give the target L0 on the corpus, "
                        + "per-feature scales are least-squares fits. The same activations and seed give the same SAE."})
public final class SynthSaeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--d-model", paramLabel = "D", description = "input width of a random SAE (2304 for Gemma 2 2B); taken from the model with --fit-model")
    Integer dModel;

    @Option(names = "--width", required = true, paramLabel = "W", description = "number of features, e.g. 16384")
    int width;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created if missing)")
    Path out;

    @Option(names = "--l0", defaultValue = "70", paramLabel = "N",
            description = "target active features per position: on standard-normal inputs (random), on the corpus (fitted) (default: ${DEFAULT-VALUE})")
    int l0;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--fit-model", paramLabel = "PATH", description = "fit to this model's activations (HF folder or .gguf)")
    Path fitModel;

    @Option(names = "--fit-corpus", paramLabel = "FILE", description = "UTF-8 text to fit on, one document per non-empty line")
    Path fitCorpus;

    @Option(names = "--hook", paramLabel = "NAME",
            description = "hook point to fit at (default: from --out's Gemma Scope path, e.g. layer_2 in a -res release -> blocks.2.hook_resid_post)")
    String hook;

    @Option(names = "--fit-context", defaultValue = "128", paramLabel = "N",
            description = "documents are cut to this many tokens, <bos> included (default: ${DEFAULT-VALUE})")
    int fitContext;

    @Option(names = "--fit-max-tokens", defaultValue = "65536", paramLabel = "N",
            description = "stop collecting activations after this many positions (default: ${DEFAULT-VALUE})")
    int fitMaxTokens;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads when fitting (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME",
            description = "where to compute: cpu (Vector API) or tornado (TornadoVM; default: ${DEFAULT-VALUE})")
    String backend;

    @Override public Integer call() throws Exception {
        long start = System.nanoTime();
        PrintWriter o = spec.commandLine().getOut();
        OutputPaths.requireFolder(out, "--out");
        if (fitModel == null) {
            if (fitCorpus != null || hook != null) throw new BadInputException("--fit-corpus and --hook need --fit-model");
            if (dModel == null) throw new BadInputException("give --d-model for a random SAE, or --fit-model and --fit-corpus to fit one");
            Path file = SyntheticSae.write(out, dModel, width, l0, seed);
            o.printf("wrote %s: d_model %d, width %d, target L0 %d, %.2f GB in %.1f s%n", file, dModel, width, l0,
                    Files.size(file) / 1e9, (System.nanoTime() - start) / 1e9);
        } else {
            fit(o, start);
        }
        o.flush();
        return 0;
    }

    private void fit(PrintWriter o, long start) throws Exception {
        if (fitCorpus == null) throw new BadInputException("--fit-model needs --fit-corpus (text, one document per line)");
        if (fitContext < 2 || fitMaxTokens < 1) throw new BadInputException("--fit-context must be at least 2 and --fit-max-tokens at least 1");
        String inferred = GemmaScopeLayout.of(out).hook().orElse(null);
        String at = hook != null ? hook : inferred;
        if (at == null) {
            throw new BadInputException("--out " + out + " names no layer (expected a Gemma Scope path such as .../layer_2/width_512/average_l0_20); give --hook");
        }
        if (width < 1 || l0 < 1 || l0 > width) throw new BadInputException("--width must be positive and --l0 in [1, " + width + "]");
        InputPaths.corpusFiles(fitCorpus, "--fit-corpus");   // a corpus Loupe cannot read fails before the model loads
        try (Model m = Model.load(fitModel, backend, threads)) {
            Tokenizer tok = m.tokenizer();
            List<int[]> seqs = InputPaths.corpusTokenIds(fitCorpus, "--fit-corpus", tok, fitContext, Long.MAX_VALUE);
            if (seqs.isEmpty()) throw new BadInputException(fitCorpus + ": no text (expected one document per line)");
            Set<Integer> ignored = new HashSet<>(List.of(tok.bosId(), 0));
            if (tok.eosId() >= 0) ignored.add(tok.eosId());
            HookSample sample = HookSample.collect(m, at, seqs, ignored, fitMaxTokens);
            if (dModel != null && dModel != sample.width()) {
                throw new BadInputException("--d-model " + dModel + " does not match " + at + " of " + fitModel + " (width " + sample.width() + ")");
            }
            ExemplarSae sae = ExemplarSae.fit(sample, ExemplarSae.Options.of(width, l0, seed), m.backend());
            Path file = sae.write(out);
            ExemplarSae.Stats s = sae.stats();
            o.printf(Locale.ROOT, "wrote %s: fitted at %s on %d positions of %s: d_model %d, width %d, L0 %.2f (target %d), FVU %.4f, %d dead features, in %.1f s%n",
                    file, at, s.rows(), fitCorpus, sample.width(), width, s.meanL0(), l0, s.fvu(), s.deadFeatures(), (System.nanoTime() - start) / 1e9);
            if (hook != null && !hook.equals(inferred)) {
                o.printf("note: this folder's path does not name %s; load it with --hook %s%n", hook, hook);
            }
        }
    }
}
