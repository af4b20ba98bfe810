package dev.loupe.cli;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code loupe trace}: per token of a prompt, its strongest SAE features. */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = "Show, for every token of a prompt, the SAE features that fire most strongly at the SAE's hook point.")
final class TraceCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin SaeOptions saeOptions;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the text to trace (<bos> is added)")
    String prompt;

    @Option(names = "--top", paramLabel = "K", description = "features shown per token (default: ${DEFAULT-VALUE})")
    int top = 5;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @Override public Integer call() throws Exception {
        if (top < 1) throw new BadInputException("--top must be at least 1");
        try (Model m = model.load(); Sae sae = saeOptions.load(m)) {
            Tokenizer tok = m.tokenizer();
            int[] ids = tok.encode(prompt);
            SparseFeatures f = sae.encode(SaeOptions.activation(m, sae, ids));
            List<String> texts = new ArrayList<>();
            for (int id : ids) texts.add(tok.tokenText(id));
            System.out.print(json ? FeatureTable.json(sae.hookName(), ids, texts, f, top) + "\n" : FeatureTable.text(ids, texts, f, top));
        }
        return 0;
    }
}
