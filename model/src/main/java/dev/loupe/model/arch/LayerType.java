package dev.loupe.model.arch;

/** How a layer attends: within the sliding window, or to every earlier position. Names as transformers' {@code layer_types}. */
public enum LayerType {
    SLIDING("sliding_attention"),
    FULL("full_attention");

    private final String hfName;

    LayerType(String hfName) { this.hfName = hfName; }

    /** The name in {@code layer_types} and as a key of {@code rope_parameters}. */
    public String hfName() { return hfName; }

    /** The type called {@code name} in a config, or null. */
    public static LayerType ofHfName(String name) {
        for (LayerType t : values()) if (t.hfName.equals(name)) return t;
        return null;
    }
}
