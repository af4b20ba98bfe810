package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.Model;
import dev.loupe.model.generate.AssistedGeneration;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;

/**
 * {@code loupe generate}: continue a prompt (text, or token ids as {@code run} takes them), streaming text as it is
 * produced, or with {@code --json} printing one object with the new token ids. Generation stops at the model's eos ids
 * (generation_config.json, else config.json), or with {@code --chat} also at the turn end.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text after a prompt (greedy by default; sampling with --temperature).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin SamplingOptions sampling;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt")
        String prompt;

        @Option(names = "--token-ids", required = true, paramLabel = "IDS", description = "the prompt as comma-separated token ids (with <bos>), e.g. 2,17,300")
        String tokenIds;
    }

    @Option(names = "--chat", description = "wrap the prompt in Gemma's chat turn format (for -it models)")
    boolean chat;

    @Option(names = "--json", description = "print one JSON object: prompt_ids, generated_ids (ending with the eos id when it stopped at one), stopped_at, text")
    boolean json;

    @Option(names = "--draft-model", paramLabel = "PATH",
            description = "assisted generation: a smaller model with the same tokenizer proposes tokens that --model checks in batches"
                    + " (same output as --model alone when greedy; the same distribution when sampling)")
    java.nio.file.Path draftModel;

    @Option(names = "--draft-tokens", paramLabel = "K", defaultValue = "4",
            description = "tokens the draft model proposes per check (default: ${DEFAULT-VALUE})")
    int draftTokens;

    /** The draft's statistics for the last line on stderr ("" without a draft). */
    private String drafting = "";

    @Override
    public Integer call() throws Exception {
        if (chat && input.tokenIds != null) throw new BadInputException("--chat wraps a --prompt text; drop it with --token-ids");
        int[] given = input.tokenIds != null ? TokenIds.parse(input.tokenIds) : null;
        Generation generation = sampling.generation();
        if (draftTokens < 1) throw new BadInputException("--draft-tokens must be at least 1, got " + draftTokens);
        if (draftModel == null && draftTokens != 4) throw new BadInputException("--draft-tokens needs --draft-model");
        try (Model m = model.load(); Model draft = draftModel == null ? null : model.load(draftModel)) {
            Tokenizer tok = given == null || m.hasTokenizer() ? m.tokenizer() : null;
            int[] ids = given != null ? given
                    : chat ? ChatTemplate.encode(tok, java.util.List.of(ChatTemplate.Turn.user(input.prompt)), true) : tok.encode(input.prompt);
            if (chat) generation = generation.withDefaultStops(ChatTemplate.stops(tok, m.config().eosIds()));
            sampling.requireWithinContext(m.config().maxPositions(), ids.length);
            if (json) {
                GenerationResult r = generate(m, draft, ids, generation, null);
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("prompt_ids", ids);
                out.put("generated_ids", r.generated());
                out.put("stopped_at", r.stoppedAt() >= 0 ? r.stoppedAt() : null);
                if (tok != null) out.put("text", tok.decode(r.generated(), true));
                System.out.println(dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsString(out));
                return 0;
            }
            if (tok == null) {
                GenerationResult r = generate(m, draft, ids, generation, null);
                System.out.println(java.util.Arrays.stream(r.generated()).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(",")));
                return 0;
            }
            TextStream out = new TextStream(tok, System.out);
            System.out.print(given != null ? tok.decode(given, true) : input.prompt);
            GenerationResult r = generate(m, draft, ids, generation, out::accept);
            out.finish();
            System.out.println();
            System.err.println("[" + r.generated().length + " tokens" + (r.stoppedAt() >= 0 ? ", stopped at " + tok.piece(r.stoppedAt()) : "") + drafting + "]");
        }
        return 0;
    }

    /** Generates with the target alone, or with the draft's help (then {@link #drafting} says how it went). */
    private GenerationResult generate(Model target, Model draft, int[] ids, Generation g, IntConsumer onToken) {
        if (draft == null) return target.generate(ids, g, HookSet.empty(), onToken);
        AssistedGeneration assisted;
        try {
            assisted = new AssistedGeneration(target, draft, draftTokens);
        } catch (BadInputException e) {
            if (!"draftModel".equals(e.parameter())) throw e;
            throw new BadInputException("--draft-model " + draftModel + ": " + e.problem(), e);
        }
        AssistedGeneration.Result a = assisted.generate(ids, g, HookSet.empty(), onToken);
        drafting = String.format(", %d target passes, %d of %d drafted tokens kept (%.0f%%)", a.stats().targetPasses(),
                a.stats().accepted(), a.stats().drafted(), 100 * a.stats().acceptanceRate());
        return a.generation();
    }
}
