package dev.loupe.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.loupe.model.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * OpenAI's {@code logprobs} for chat completions, as llama-server returns them: per generated token its text,
 * log-probability, UTF-8 bytes and the {@code top_logprobs} most likely alternatives. Probabilities are the
 * model's own distribution (a log-softmax of its logits, before temperature, top-k and top-p), which is what
 * OpenAI reports and llama-server reports by default.
 */
final class Logprobs {
    /** OpenAI's limit on {@code top_logprobs}. */
    static final int MAX_TOP = 20;

    private Logprobs() {}

    record Alternative(String token, double logprob, int[] bytes) {}

    record TokenLogprob(String token, double logprob, int[] bytes, List<Alternative> topLogprobs) {}

    /** A choice's {@code logprobs} object; {@code refusal} is written as null, as OpenAI does. */
    record Content(List<TokenLogprob> content, @JsonInclude(JsonInclude.Include.ALWAYS) Object refusal) {
        static Content of(List<TokenLogprob> tokens) { return new Content(List.copyOf(tokens), null); }
    }

    /** The entry of token {@code chosen} given the logits it was sampled from, with {@code top} alternatives. */
    static TokenLogprob of(float[] logits, int chosen, int top, Tokenizer tokenizer) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double logZ = max + Math.log(sum);
        List<Alternative> alternatives = new ArrayList<>(top);
        if (top > 0) {
            // a min-heap of the best `top` (ties: the lower id first, as a stable sort would order them)
            PriorityQueue<Integer> heap = new PriorityQueue<>(top + 1, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[a], logits[b]) : Integer.compare(b, a));
            for (int i = 0; i < logits.length; i++) {
                heap.add(i);
                if (heap.size() > top) heap.poll();
            }
            while (!heap.isEmpty()) {
                int id = heap.poll();
                alternatives.addFirst(new Alternative(text(tokenizer, id), logits[id] - logZ, bytes(tokenizer, id)));
            }
        }
        return new TokenLogprob(text(tokenizer, chosen), logits[chosen] - logZ, bytes(tokenizer, chosen), alternatives);
    }

    /** A token's text on its own (a byte piece of a multi-byte character shows as U+FFFD; its bytes say which byte). */
    static String text(Tokenizer tokenizer, int id) { return tokenizer.decode(new int[]{id}, false); }

    /** A token's UTF-8 bytes: the byte itself for a byte piece ({@code <0xNN>}), else its text's encoding. */
    static int[] bytes(Tokenizer tokenizer, int id) {
        String piece = tokenizer.piece(id);
        if (piece != null && piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            try {
                return new int[]{Integer.parseInt(piece.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // an ordinary piece that looks like one
            }
        }
        byte[] b = text(tokenizer, id).getBytes(StandardCharsets.UTF_8);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xFF;
        return out;
    }
}
