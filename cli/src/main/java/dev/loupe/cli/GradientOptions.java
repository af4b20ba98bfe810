package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
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
import java.util.function.Supplier;

/** The prompt and metric options of the gradient commands ({@code grad}, {@code attribute}). */
final class GradientOptions {
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
        if ((tokenIds == null) == (prompt == null)) throw new IllegalArgumentException("give either --token-ids or --prompt");
        return tokenIds != null ? TokenIds.parse(tokenIds) : model.tokenizer().encode(prompt);
    }

    /** The metric the flags describe; flags that do not apply to it are refused. */
    Metric metric() {
        int p = position == null ? Metric.LAST : position, a = target == null ? Metric.AUTO : target, b = baseline == null ? Metric.AUTO : baseline;
        if (position != null && position < 0) throw new IllegalArgumentException("--position " + position + ": expected a position >= 0");
        if (target != null && target < 0) throw new IllegalArgumentException("--target: token " + target + " is outside the vocabulary");
        if (baseline != null && baseline < 0) throw new IllegalArgumentException("--baseline: token " + baseline + " is outside the vocabulary");
        return switch (metric.toLowerCase(Locale.ROOT)) {
            case "logit-diff" -> Metric.logitDiff(p, a, b);
            case "logprob" -> {
                if (baseline != null) throw new IllegalArgumentException("--baseline applies to --metric logit-diff only");
                yield Metric.logProb(p, a);
            }
            case "loss" -> {
                if (target != null || baseline != null || position != null) {
                    throw new IllegalArgumentException("--metric loss takes no --target, --baseline or --position (it averages every next token)");
                }
                yield Metric.loss();
            }
            default -> throw new IllegalArgumentException("--metric " + metric + ": expected logit-diff, logprob or loss");
        };
    }

    /** Runs {@code body}, naming the flags in the library's errors about the metric's fields. */
    static <T> T withFlagNames(Supplier<T> body) {
        try {
            return body.get();
        } catch (IllegalArgumentException e) {
            String m = String.valueOf(e.getMessage());
            for (String f : new String[]{"position", "target", "baseline"}) {
                if (m.startsWith(f + ": ")) throw new IllegalArgumentException("--" + m, e);
            }
            if (m.startsWith("tokens: ")) throw new IllegalArgumentException("--token-ids: " + m.substring(8), e);
            if (m.startsWith("corrupt: ")) throw new IllegalArgumentException("--corrupt-token-ids: " + m.substring(9), e);
            throw e;
        }
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
