package dev.loupe.analysis.export;

import java.util.Locale;

/**
 * Neuronpedia's name for an SAE: a source id {@code LAYER-SET}, e.g. {@code 20-gemmascope-res-16k}, whose set names
 * the family, the kind of hook and the width. A Gemma Scope SAE (its path says so) gets {@code gemmascope-...};
 * any other {@code loupe-...}.
 *
 * @param layer the block whose output (or MLP / attention) the SAE reads
 * @param set   e.g. {@code gemmascope-res-16k}
 */
public record NeuronpediaSource(int layer, String set) {
    /** The SAE reading {@code hook} with {@code dSae} features, loaded from {@code path} (null when unknown). */
    public static NeuronpediaSource of(String hook, int dSae, String path) {
        String kind = hook.endsWith("hook_mlp_out") ? "mlp" : hook.contains("attn") ? "att" : "res";
        String from = String.valueOf(path).toLowerCase(Locale.ROOT);
        String family = from.contains("gemma-scope") || from.contains("gemmascope") ? "gemmascope" : "loupe";
        return new NeuronpediaSource(layer(hook), family + "-" + kind + "-" + width(dSae));
    }

    /** The source id, e.g. {@code 20-gemmascope-res-16k}. */
    public String id() { return layer + "-" + set; }

    /** The layer a hook name reads, e.g. 20 for {@code blocks.20.hook_resid_post} (0 for hooks before the blocks). */
    static int layer(String hook) {
        String[] parts = hook.split("\\.");
        if (parts.length < 2 || !parts[0].equals("blocks")) return 0;
        try {
            return Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** 16384 → 16k, 1048576 → 1m, as Neuronpedia names widths; other widths as they are. */
    static String width(int n) {
        if (n % (1 << 20) == 0) return (n >> 20) + "m";
        if (n % 1024 == 0) return (n >> 10) + "k";
        return Integer.toString(n);
    }
}
