package dev.loupe.hooks;

import dev.loupe.errors.BadInputException;

import java.util.Comparator;
import java.util.List;

/** A hook name no model hook point carries (bad input); the message names the closest valid ones. */
public final class UnknownHookException extends BadInputException {
    /** Hook names are under 40 characters; longer input is compared by its start. */
    private static final int MAX_COMPARED = 200;
    private final List<String> suggestions;

    private UnknownHookException(String message, List<String> suggestions) {
        super(message);
        this.suggestions = suggestions;
    }

    public List<String> suggestions() { return suggestions; }

    /** The error for {@code name}, suggesting the closest of {@code valid}. */
    public static UnknownHookException of(String name, List<String> valid) {
        // Each distance once (not per comparison), on a bounded prefix: a pasted megabyte must not take minutes.
        String probe = name.length() > MAX_COMPARED ? name.substring(0, MAX_COMPARED) : name;
        java.util.Map<String, Integer> distance = new java.util.HashMap<>();
        for (String v : valid) distance.put(v, editDistance(probe, v));
        List<String> closest = valid.stream()
                .sorted(Comparator.comparingInt((String v) -> distance.get(v)).thenComparing(v -> v))
                .limit(3)
                .toList();
        String shown = name.length() > MAX_COMPARED ? probe + "..." : name;
        return new UnknownHookException("unknown hook point '" + shown + "'; closest valid names: "
                + String.join(", ", closest), closest);
    }

    /** Levenshtein distance; hook names are short, so the quadratic table is fine. */
    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
