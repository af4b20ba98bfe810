package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.analysis.flags.Flags;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.grad.Metric;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Map;

/** The prompt and metric options of the gradient commands ({@code grad}, {@code attribute}). */
final class GradientOptions implements Flags.Named {
    /** The library's {@code position}, {@code target} and {@code baseline} are these flags' own names. */
    @Override public Map<String, String> flagNames() { return Map.of("tokens", "--token-ids", "corrupt", "--corrupt-token-ids"); }

    @Option(names = "--token-ids", paramLabel = "IDS", description = "comma-separated token ids, e.g. 2,17,300 (or --prompt)")
    String tokenIds;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "text to tokenize (<bos> is added) instead of --token-ids")
    String prompt;

    @Option(names = "--metric", defaultValue = "logit-diff", paramLabel = "NAME",
            description = "logit-diff (target − baseline logit), logprob (of the target) or loss (mean next-token cross-entropy) (default: ${DEFAULT-VALUE})")
    String metric;

    @Option(names = "--target", paramLabel = "A", description = "token whose logit (or log-probability) is measured (default: the argmax at the position)")
    Integer target;

    @Option(names = "--baseline", paramLabel = "B", description = "logit-diff: token subtracted (default: the runner-up at the position)")
    Integer baseline;

    @Option(names = "--position", paramLabel = "P", description = "position whose logits are measured (default: the last)")
    Integer position;

    /** The token ids from --token-ids or --prompt (exactly one of them). */
    int[] tokens(Model model) {
        if ((tokenIds == null) == (prompt == null)) throw new BadInputException("give either --token-ids or --prompt");
        return tokenIds != null ? TokenIds.parse(tokenIds) : model.tokenizer().encode(prompt);
    }

    /** The metric the flags describe; flags that do not apply to it are refused. */
    Metric metric() {
        int p = position == null ? Metric.LAST : position, a = target == null ? Metric.AUTO : target, b = baseline == null ? Metric.AUTO : baseline;
        if (position != null && position < 0) throw new BadInputException("--position " + position + ": expected a position >= 0");
        if (target != null && target < 0) throw new BadInputException("--target: token " + target + " is outside the vocabulary");
        if (baseline != null && baseline < 0) throw new BadInputException("--baseline: token " + baseline + " is outside the vocabulary");
        return switch (metric.toLowerCase(Locale.ROOT)) {
            case "logit-diff" -> Metric.logitDiff(p, a, b);
            case "logprob" -> {
                if (baseline != null) throw new BadInputException("--baseline applies to --metric logit-diff only");
                yield Metric.logProb(p, a);
            }
            case "loss" -> {
                if (target != null || baseline != null || position != null) {
                    throw new BadInputException("--metric loss takes no --target, --baseline or --position (it averages every next token)");
                }
                yield Metric.loss();
            }
            default -> throw new BadInputException("--metric " + metric + ": expected logit-diff, logprob or loss");
        };
    }

    /** Writes {@code value} as pretty JSON under a temporary name, then renames it into place. */
    static void writeJson(Path file, Map<String, Object> value) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".partial");
        try {
            Files.writeString(tmp, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value) + "\n");
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
