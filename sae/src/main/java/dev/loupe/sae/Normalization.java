package dev.loupe.sae;

import dev.loupe.errors.BadInputException;






/** SAELens's {@code normalize_activations}: how inputs are rescaled before encoding (and outputs after decoding). */
public enum Normalization {
    NONE("none"),
    /** Multiply inputs by a fixed dataset-wide factor, divide outputs by it (folded in from {@code norm_scaling_factor}). */
    EXPECTED_AVERAGE_ONLY_IN("expected_average_only_in"),
    /** Scale each input row to norm {@code sqrt(d_in)}; undo per row after decoding. */
    CONSTANT_NORM_RESCALE("constant_norm_rescale"),
    /** Subtract each row's mean and divide by its (unbiased) std + 1e-5; undo per row after decoding. */
    LAYER_NORM("layer_norm");

    private final String saeLensName;

    Normalization(String saeLensName) { this.saeLensName = saeLensName; }

    public String saeLensName() { return saeLensName; }

    public static Normalization fromSaeLens(String name, String where) {
        if (name == null) return NONE;
        for (Normalization n : values()) if (n.saeLensName.equals(name)) return n;
        throw new BadInputException(where + ": normalize_activations '" + name
                + "' is not supported (expected none, expected_average_only_in, constant_norm_rescale or layer_norm)");
    }
}
