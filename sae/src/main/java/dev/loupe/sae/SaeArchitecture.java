package dev.loupe.sae;

import dev.loupe.errors.BadInputException;






/** How an SAE turns pre-activations into feature activations. */
public enum SaeArchitecture {
    /** {@code f = pre > threshold ? pre : 0} (Gemma Scope; SAELens "jumprelu"); negative values never fire. */
    JUMPRELU("jumprelu"),
    /** {@code f = max(pre, 0)} (SAELens "standard"). */
    RELU("standard"),
    /** The {@code k} largest pre-activations, then ReLU (SAELens "topk"). */
    TOPK("topk");

    private final String saeLensName;

    SaeArchitecture(String saeLensName) { this.saeLensName = saeLensName; }

    /** The name SAELens's cfg.json uses. */
    public String saeLensName() { return saeLensName; }

    /** Parses SAELens's {@code architecture} field. */
    public static SaeArchitecture fromSaeLens(String name, String where) {
        for (SaeArchitecture a : values()) if (a.saeLensName.equals(name)) return a;
        throw new BadInputException(where + ": architecture '" + name + "' is not supported (expected jumprelu, standard or topk)");
    }
}
