package dev.loupe.hooks;

import java.util.regex.Pattern;

/** A shell-style pattern over hook names: {@code *} matches any run of characters, {@code ?} exactly one. */
public record Glob(Pattern pattern) {
    public static Glob of(String glob) {
        StringBuilder re = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return new Glob(Pattern.compile(re.toString()));
    }

    public boolean matches(String name) { return pattern.matcher(name).matches(); }
}
