package dev.loupe.model.tokenizer;

import dev.loupe.errors.BadInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Gemma's conversation format for instruction-tuned (-it) models:
 * {@code <bos><start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n{text}<end_of_turn>\n...},
 * ending with {@code <start_of_turn>model\n} when the model is to answer. As in Gemma's Hugging Face
 * template, turn texts are trimmed and turns must alternate user, model, user, ...
 *
 * <p>Gemma has no system role: its Hugging Face template raises on one. Here a system turn is
 * allowed only first, and its text is put before the first user turn's text, separated by a blank
 * line (what Gemma 3's template does), so callers with a system prompt still get a well-formed prompt.
 */
public final class ChatTemplate {
    private ChatTemplate() {}

    public enum Role {
        SYSTEM, USER, MODEL;

        /** Parses "system", "user", "model" (or "assistant", its Hugging Face name). */
        public static Role of(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "system" -> SYSTEM;
                case "user" -> USER;
                case "model", "assistant" -> MODEL;
                default -> throw new BadInputException("chat role \"" + name + "\" is not one of system, user, model");
            };
        }
    }

    public record Turn(Role role, String text) {
        public Turn {
            if (role == null || text == null) throw new BadInputException("a chat turn needs a role and a text");
        }

        public static Turn user(String text) { return new Turn(Role.USER, text); }

        public static Turn model(String text) { return new Turn(Role.MODEL, text); }

        public static Turn system(String text) { return new Turn(Role.SYSTEM, text); }
    }

    /** The prompt for one user message, ready for the model's answer. */
    public static String prompt(String userText) { return render(List.of(Turn.user(userText)), true); }

    /**
     * The conversation as text, starting with {@code <bos>}; {@code addGenerationPrompt} appends
     * {@code <start_of_turn>model\n}.
     */
    public static String render(List<Turn> turns, boolean addGenerationPrompt) {
        List<Turn> merged = mergeSystem(turns);
        StringBuilder out = new StringBuilder("<bos>");
        for (int i = 0; i < merged.size(); i++) {
            Turn t = merged.get(i);
            Role expected = i % 2 == 0 ? Role.USER : Role.MODEL;
            if (t.role() != expected) {
                throw new BadInputException("chat turn " + (i + 1) + " is " + name(t.role()) + ", expected " + name(expected)
                        + " (turns alternate user, model, user, ...)");
            }
            out.append("<start_of_turn>").append(name(t.role())).append('\n')
                    .append(t.text().strip()).append("<end_of_turn>\n");
        }
        if (addGenerationPrompt) out.append("<start_of_turn>model\n");
        return out.toString();
    }

    /** The conversation as token ids (its text already carries {@code <bos>}). */
    public static int[] encode(Tokenizer tokenizer, List<Turn> turns, boolean addGenerationPrompt) {
        return tokenizer.encode(render(turns, addGenerationPrompt), false);
    }

    private static List<Turn> mergeSystem(List<Turn> turns) {
        if (turns.isEmpty()) throw new BadInputException("a chat needs at least one turn");
        for (int i = 1; i < turns.size(); i++) {
            if (turns.get(i).role() == Role.SYSTEM) throw new BadInputException("chat turn " + (i + 1) + ": a system turn may only come first");
        }
        if (turns.getFirst().role() != Role.SYSTEM) return turns;
        if (turns.size() < 2 || turns.get(1).role() != Role.USER) {
            throw new BadInputException("a system turn must be followed by a user turn (Gemma has no system role; it is merged into the first user turn)");
        }
        List<Turn> merged = new ArrayList<>(turns.subList(1, turns.size()));
        merged.set(0, Turn.user(turns.getFirst().text().strip() + "\n\n" + turns.get(1).text().strip()));
        return merged;
    }

    private static String name(Role r) { return r.name().toLowerCase(Locale.ROOT); }

    /**
     * What a chat stops at: the model's eos ids plus the turn end ({@code <end_of_turn>}) when the vocabulary has it,
     * as the -it models' generation_config.json lists it.
     */
    public static java.util.Set<Integer> stops(Tokenizer tokenizer, java.util.Collection<Integer> eosIds) {
        java.util.Set<Integer> s = new java.util.HashSet<>(eosIds);
        int end = tokenizer.id("<end_of_turn>");
        if (end >= 0) s.add(end);
        return java.util.Set.copyOf(s);
    }
}
