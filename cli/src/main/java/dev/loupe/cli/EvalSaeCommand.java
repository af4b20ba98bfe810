package dev.loupe.cli;

import dev.loupe.analysis.Corpus;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.metrics.SaeEvaluator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code loupe eval-sae}: SAELens's SAE metrics over a text corpus. */
@Command(name = "eval-sae", mixinStandardHelpOptions = true,
        description = "Evaluate an SAE on a corpus (one document per non-empty line): L0, MSE, explained variance / FVU "
                + "(special tokens left out), CE loss clean / with the SAE spliced in / with the hook zero-ablated, "
                + "CE loss recovered (ce_loss_score), KL divergence against the clean run.")
final class EvalSaeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin SaeOptions saeOptions;

    @Option(names = "--corpus", required = true, paramLabel = "FILE", description = "UTF-8 text, one document per line")
    Path corpus;

    @Option(names = "--max-tokens", paramLabel = "N", description = "stop after this many tokens (default: ${DEFAULT-VALUE})")
    int maxTokens = 4096;

    @Option(names = "--context", paramLabel = "N", description = "documents are cut to this many tokens, <bos> included (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override public Integer call() throws Exception {
        if (maxTokens < 2 || context < 2) throw new BadInputException("--max-tokens and --context must be at least 2");
        InputPaths.corpusFiles(corpus, "--corpus");   // a corpus Loupe cannot read fails before the model loads
        try (Model m = model.load(); Sae sae = saeOptions.load(m)) {
            Tokenizer tok = m.tokenizer();
            List<int[]> seqs = new ArrayList<>();
            for (int[] ids : InputPaths.corpusTokenIds(corpus, "--corpus", tok, context, maxTokens)) if (ids.length >= 2) seqs.add(ids);
            if (seqs.isEmpty()) throw new BadInputException("--corpus " + corpus + ": no text (expected one document per line)");
            Set<Integer> special = new HashSet<>(List.of(tok.bosId(), 0));
            if (tok.eosId() >= 0) special.add(tok.eosId());
            SaeEvaluator.Model runner = (t, hooks) -> m.run(t, RunOptions.defaults().withHooks(hooks)).logits();
            long start = System.nanoTime();
            SaeEvaluator.Report r = SaeEvaluator.evaluate(runner, m.config().vocabSize(), sae, seqs, special);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Number> metrics = r.asMap();
            if (json) {
                Map<String, Object> out = new java.util.LinkedHashMap<>();
                out.put("sae", saeOptions.sae.toString());
                out.put("hook", sae.hookName());
                out.put("corpus", corpus.toString());
                out.put("documents", seqs.size());
                out.putAll(metrics);
                System.out.println(dev.loupe.model.io.LoupeJson.PRETTY.writeValueAsString(out));
            } else {
                System.out.printf(Locale.ROOT, "%s at %s on %s: %d documents, %d tokens (%.1f s)%n", saeOptions.sae, sae.hookName(),
                        corpus, seqs.size(), r.tokens(), seconds);
                metrics.forEach((k, v) -> System.out.printf(Locale.ROOT, "  %-26s %s%n", k,
                        v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : v.toString()));
            }
        }
        return 0;
    }
}
