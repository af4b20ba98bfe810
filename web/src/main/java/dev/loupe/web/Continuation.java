package dev.loupe.web;

import dev.loupe.model.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * A generation turned into text as it grows: each step yields the text that is safe to show now. Text is
 * decoded from all tokens so far (a character split over byte-fallback tokens only becomes text when complete),
 * and the tail that could still become one of the {@code stop} strings is held back until it cannot; a matched
 * stop string ends the generation and is not part of the text (as in OpenAI's API).
 */
final class Continuation implements AutoCloseable {
    private final TokenGenerator generator;
    private final Tokenizer tokenizer;
    private final List<String> stops;
    private int[] ids = new int[16];
    private int count;
    private String text = "";
    private int emitted;
    private int lastToken = -1;

    Continuation(TokenGenerator generator, Tokenizer tokenizer, List<String> stops) {
        this.generator = generator;
        this.tokenizer = tokenizer;
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    boolean done() { return generator.done(); }

    /** Closes the generator: its session's buffers go back to the backend. */
    @Override
    public void close() { generator.close(); }

    TokenGenerator generator() { return generator; }

    /** Generates one token and returns the text that became safe to show (often empty or one word piece). */
    String step() {
        int id = generator.step();
        lastToken = id;
        if (count == ids.length) ids = Arrays.copyOf(ids, count * 2);
        ids[count++] = id;
        String decoded = tokenizer.decode(Arrays.copyOf(ids, count), true);
        // A trailing U+FFFD is an incomplete multi-byte character: wait for the rest of it.
        if (!generator.done() && decoded.endsWith("\uFFFD")) return "";
        text = decoded;
        int cut = firstStop(text);
        if (cut >= 0) {
            text = text.substring(0, cut);
            generator.stop();
        }
        int safe = generator.done() ? text.length() : text.length() - heldBack(text);
        if (safe <= emitted) return "";
        String out = text.substring(emitted, safe);
        emitted = safe;
        return out;
    }

    /** The last token's log-probability and its {@code top} most likely alternatives. */
    Logprobs.TokenLogprob logprob(int top) { return Logprobs.of(generator.lastLogits(), lastToken, top, tokenizer); }

    /** The token chosen by the last {@link #step}. */
    int lastToken() { return lastToken; }

    /** Tokens generated so far. */
    int tokens() { return count; }

    /** The text so far (final once {@link #done}). */
    String text() { return text; }

    String finishReason() { return generator.finish() == null ? null : generator.finish().openAiName; }

    private int firstStop(String s) {
        int best = -1;
        for (String stop : stops) {
            int i = s.indexOf(stop, Math.max(0, emitted - stop.length() + 1));
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /** Length of the longest suffix of {@code s} that is a proper prefix of a stop string. */
    private int heldBack(String s) {
        int hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, s.length()); k > hold; k--) {
                if (s.regionMatches(s.length() - k, stop, 0, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }
}
