package dev.loupe.cli;

import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.generate.AssistedGeneration;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code loupe generate}: continue a prompt, streaming text as it is produced. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text after a prompt (greedy by default; sampling with --temperature).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin SamplingOptions sampling;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt")
    String prompt;

    @Option(names = "--chat", description = "wrap the prompt in Gemma's chat turn format (for -it models)")
    boolean chat;

    @Option(names = "--draft-model", paramLabel = "PATH",
            description = "assisted generation: a smaller model with the same tokenizer proposes tokens that --model checks in batches"
                    + " (same output as --model alone when greedy; the same distribution when sampling)")
    java.nio.file.Path draftModel;

    @Option(names = "--draft-tokens", paramLabel = "K", defaultValue = "4",
            description = "tokens the draft model proposes per check (default: ${DEFAULT-VALUE})")
    int draftTokens;

    @Override
    public Integer call() {
        Generation generation = sampling.generation();
        if (draftTokens < 1) throw new IllegalArgumentException("--draft-tokens must be at least 1, got " + draftTokens);
        if (draftModel == null && draftTokens != 4) throw new IllegalArgumentException("--draft-tokens needs --draft-model");
        try (Model m = model.load(); Model draft = draftModel == null ? null : model.load(draftModel)) {
            Tokenizer tok = m.tokenizer();
            int[] ids = chat ? ChatTemplate.encode(tok, java.util.List.of(ChatTemplate.Turn.user(prompt)), true) : tok.encode(prompt);
            sampling.requireWithinContext(m.config().maxPositions(), ids.length);
            TextStream out = new TextStream(tok, System.out);
            System.out.print(prompt);
            GenerationResult r;
            String drafting = "";
            if (draft == null) {
                r = m.generate(ids, generation, HookSet.empty(), out::accept);
            } else {
                AssistedGeneration.Result a = assisted(m, draft).generate(ids, generation, HookSet.empty(), out::accept);
                r = a.generation();
                drafting = String.format(", %d target passes, %d of %d drafted tokens kept (%.0f%%)", a.stats().targetPasses(),
                        a.stats().accepted(), a.stats().drafted(), 100 * a.stats().acceptanceRate());
            }
            out.finish();
            System.out.println();
            System.err.println("[" + r.generated().length + " tokens" + (r.stoppedAt() >= 0 ? ", stopped at " + tok.piece(r.stoppedAt()) : "") + drafting + "]");
        }
        return 0;
    }

    private AssistedGeneration assisted(Model target, Model draft) {
        try {
            return new AssistedGeneration(target, draft, draftTokens);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--draft-model " + draftModel + ": " + e.getMessage().replaceFirst("^draft model: ", ""));
        }
    }
}
