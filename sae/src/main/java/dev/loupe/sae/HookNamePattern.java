package dev.loupe.sae;

import java.util.regex.Pattern;

/** A hook-name glob as HookSet understands it: {@code *} any run of characters, {@code ?} one character. */
record HookNamePattern(Pattern regex) {
    static HookNamePattern of(String glob) {
        StringBuilder re = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return new HookNamePattern(Pattern.compile(re.toString()));
    }

    boolean matches(String name) { return regex.matcher(name).matches(); }
}
