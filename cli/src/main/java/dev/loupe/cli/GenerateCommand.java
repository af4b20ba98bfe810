package dev.loupe.cli;

import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;
import dev.loupe.model.GenerationResult;
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

    @Override
    public Integer call() {
        Generation generation = sampling.generation();
        try (Model m = model.load()) {
            Tokenizer tok = m.tokenizer();
            int[] ids = chat ? ChatTemplate.encode(tok, java.util.List.of(ChatTemplate.Turn.user(prompt)), true) : tok.encode(prompt);
            sampling.requireWithinContext(m.config().maxPositions(), ids.length);
            TextStream out = new TextStream(tok, System.out);
            System.out.print(prompt);
            GenerationResult r = m.generate(ids, generation, HookSet.empty(), out::accept);
            out.finish();
            System.out.println();
            System.err.println("[" + r.generated().length + " tokens" + (r.stoppedAt() >= 0 ? ", stopped at " + tok.piece(r.stoppedAt()) : "") + "]");
        }
        return 0;
    }
}
