package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.Model;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.model.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

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

    @Override
    public Integer call() throws Exception {
        if (chat && input.tokenIds != null) throw new IllegalArgumentException("--chat wraps a --prompt text; drop it with --token-ids");
        int[] given = input.tokenIds != null ? TokenIds.parse(input.tokenIds) : null;
        Generation generation = sampling.generation();
        try (Model m = model.load()) {
            Tokenizer tok = given == null || m.hasTokenizer() ? m.tokenizer() : null;
            int[] ids = given != null ? given
                    : chat ? ChatTemplate.encode(tok, java.util.List.of(ChatTemplate.Turn.user(input.prompt)), true) : tok.encode(input.prompt);
            if (chat) generation = generation.withDefaultStops(ChatTemplate.stops(tok, m.config().eosIds()));
            sampling.requireWithinContext(m.config().maxPositions(), ids.length);
            if (json) {
                GenerationResult r = m.generate(ids, generation, HookSet.empty(), null);
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("prompt_ids", ids);
                out.put("generated_ids", r.generated());
                out.put("stopped_at", r.stoppedAt() >= 0 ? r.stoppedAt() : null);
                if (tok != null) out.put("text", tok.decode(r.generated(), true));
                System.out.println(dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsString(out));
                return 0;
            }
            if (tok == null) {
                GenerationResult r = m.generate(ids, generation, HookSet.empty(), null);
                System.out.println(java.util.Arrays.stream(r.generated()).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(",")));
                return 0;
            }
            TextStream out = new TextStream(tok, System.out);
            System.out.print(given != null ? tok.decode(given, true) : input.prompt);
            GenerationResult r = m.generate(ids, generation, HookSet.empty(), out::accept);
            out.finish();
            System.out.println();
            System.err.println("[" + r.generated().length + " tokens" + (r.stoppedAt() >= 0 ? ", stopped at " + tok.piece(r.stoppedAt()) : "") + "]");
        }
        return 0;
    }
}
