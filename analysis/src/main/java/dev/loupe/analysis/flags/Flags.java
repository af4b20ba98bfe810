package dev.loupe.analysis.flags;

import dev.loupe.errors.BadInputException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.Map;

/**
 * The one place where a library parameter's name (a {@link BadInputException#parameter()}) becomes the flag the user
 * typed, for both command lines ({@code loupe} and {@code loupe-spark}). A command or mixin whose flag is not the
 * parameter's name in kebab case ({@code seqLen} → {@code --seq-len}) says so by implementing {@link Named};
 * everything else is found among the command's options.
 */
public final class Flags {
    private Flags() {}

    /** A command or option mixin whose flags differ from the library's parameter names. */
    public interface Named {
        /** Library parameter → flag, e.g. {@code "tokens" → "--token-ids"}. */
        Map<String, String> flagNames();
    }

    /** The message of {@code e} with its parameter said as {@code spec}'s flag, when it has one. */
    public static String message(BadInputException e, CommandSpec spec) {
        String flag = e.parameter() == null || spec == null ? null : flag(e.parameter(), spec);
        return flag == null ? e.getMessage() : flag + ": " + e.problem();
    }

    /** The flag of {@code spec} (its mixins included) that sets {@code parameter}, or null for none. */
    public static String flag(String parameter, CommandSpec spec) {
        if (parameter.startsWith("-")) return parameter;   // already a flag
        for (Object user : users(spec)) {
            if (user instanceof Named n && n.flagNames().containsKey(parameter)) return n.flagNames().get(parameter);
        }
        OptionSpec o = spec.findOption("--" + kebab(parameter));
        return o == null ? null : o.longestName();
    }

    private static java.util.List<Object> users(CommandSpec spec) {
        java.util.List<Object> out = new java.util.ArrayList<>();
        out.add(spec.userObject());
        for (CommandSpec m : spec.mixins().values()) out.add(m.userObject());
        return out;
    }

    /** {@code seqLen} → {@code seq-len}. */
    static String kebab(String name) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isUpperCase(c)) b.append(i == 0 ? "" : "-").append(Character.toLowerCase(c));
            else b.append(c == '_' ? '-' : c);
        }
        return b.toString();
    }
}
