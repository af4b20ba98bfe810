package dev.loupe.hooks;

/**
 * A shell-style pattern over hook names: {@code *} matches any run of characters, {@code ?} exactly one.
 * Matched greedily with one backtrack point (the last star), so time is O(pattern · name) at worst, whatever
 * the pattern: a regex translation backtracks exponentially on patterns such as {@code ****************Z}.
 */
public record Glob(String pattern) {
    public static Glob of(String glob) { return new Glob(glob); }

    public boolean matches(String name) {
        int p = 0, n = 0, star = -1, resume = 0;
        while (n < name.length()) {
            if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == name.charAt(n))) {
                p++;
                n++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                // Let the star match nothing for now; remember where to give it one more character.
                star = p++;
                resume = n;
            } else if (star >= 0) {
                p = star + 1;
                n = ++resume;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') p++;
        return p == pattern.length();
    }
}
