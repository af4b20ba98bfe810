package dev.loupe.model.arch;

import dev.loupe.model.arch.gemma1.Gemma1;
import dev.loupe.model.arch.gemma2.Gemma2Architecture;
import dev.loupe.model.arch.gemma3.Gemma3;

import java.util.ArrayList;
import java.util.List;

/** The family members Loupe knows, found by a checkpoint's {@code model_type} or GGUF {@code general.architecture}. */
public final class Architectures {
    private Architectures() {}

    public static final List<Architecture> ALL = List.of(Gemma1.ARCHITECTURE, Gemma2Architecture.ARCHITECTURE, Gemma3.ARCHITECTURE);

    /** The member whose configs carry {@code modelType}, or null. */
    public static Architecture byHfModelType(String modelType) {
        for (Architecture a : ALL) if (a.hfModelTypes().contains(modelType)) return a;
        return null;
    }

    /** The member whose GGUF files say {@code general.architecture = name}, or null. */
    public static Architecture byGgufName(String name) {
        for (Architecture a : ALL) if (a.ggufName().equals(name)) return a;
        return null;
    }

    /** Every accepted model_type, quoted, for error messages. */
    public static String hfModelTypes() {
        List<String> all = new ArrayList<>();
        for (Architecture a : ALL) for (String t : a.hfModelTypes()) all.add("\"" + t + "\"");
        return String.join(", ", all);
    }

    /** Every accepted GGUF architecture, quoted. */
    public static String ggufNames() {
        List<String> all = new ArrayList<>();
        for (Architecture a : ALL) all.add("\"" + a.ggufName() + "\"");
        return String.join(", ", all);
    }
}
