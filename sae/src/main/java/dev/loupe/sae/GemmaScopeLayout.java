package dev.loupe.sae;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what a Gemma Scope folder path says about its SAE, as published on Hugging Face
 * ({@code google/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71/params.npz}, also inside a hub cache
 * {@code models--google--gemma-scope-2b-pt-res/snapshots/<rev>/...}): the layer, the site (res, mlp, att) and
 * hence the hook point, whether it is an embedding SAE, and the width.
 *
 * @param layer     the {@code layer_N} component, or -1 for embedding SAEs / when absent
 * @param embedding the path has an {@code embedding} component
 * @param site      "res", "mlp" or "att" when a path component names one (e.g. {@code gemma-scope-2b-pt-mlp})
 * @param width     the number of features {@code width_16k} stands for, when present
 */
public record GemmaScopeLayout(int layer, boolean embedding, Optional<String> site, OptionalInt width) {
    private static final Pattern LAYER = Pattern.compile("layer_(\\d+)");
    private static final Pattern WIDTH = Pattern.compile("width_(\\d+)([km]?)");

    /** Parses a folder (or its params.npz). */
    public static GemmaScopeLayout of(Path path) {
        Path p = path.toAbsolutePath().normalize();
        int layer = -1;
        boolean embedding = false;
        OptionalInt width = OptionalInt.empty();
        Optional<String> site = Optional.empty();
        // Walk from the leaf upward so the nearest repository-like component decides the site.
        for (int i = p.getNameCount() - 1; i >= 0; i--) {
            String c = p.getName(i).toString().toLowerCase(Locale.ROOT);
            Matcher l = LAYER.matcher(c);
            if (layer < 0 && l.matches()) layer = Integer.parseInt(l.group(1));
            if (c.equals("embedding")) embedding = true;
            Matcher w = WIDTH.matcher(c);
            if (width.isEmpty() && w.matches()) width = OptionalInt.of(widthOf(w.group(1), w.group(2)));
            if (site.isEmpty() && c.contains("gemma-scope")) site = siteOf(c);
        }
        return new GemmaScopeLayout(layer, embedding, site, width);
    }

    /**
     * The hook point the SAE reads: {@code hook_embed} for embedding SAEs, else by site
     * {@code blocks.N.hook_resid_post} / {@code .hook_mlp_out} / {@code .attn.hook_z}. A bare
     * {@code layer_N/...} path without a site is taken as residual (the {@code -res} releases are the ones
     * usually copied out on their own). Empty when the path has no {@code layer_N}.
     */
    public Optional<String> hook() {
        if (embedding) return Optional.of("hook_embed");
        if (layer < 0) return Optional.empty();
        String s = site.orElse("res");
        return Optional.of(switch (s) {
            case "mlp" -> "blocks." + layer + ".hook_mlp_out";
            case "att" -> "blocks." + layer + ".attn.hook_z";
            default -> "blocks." + layer + ".hook_resid_post";
        });
    }

    private static Optional<String> siteOf(String component) {
        for (String token : component.split("[-_.]+")) {
            switch (token) {
                case "res" -> { return Optional.of("res"); }
                case "mlp" -> { return Optional.of("mlp"); }
                case "att", "attn" -> { return Optional.of("att"); }
                default -> { }
            }
        }
        return Optional.empty();
    }

    /** Gemma Scope's width names round powers of two to decimal units: 16k = 16384, 65k = 65536, 1m = 1048576. */
    static int widthOf(String digits, String unit) {
        long n = Long.parseLong(digits);
        long v = switch (unit) {
            case "k" -> n * 1000;
            case "m" -> n * 1000_000;
            default -> n;
        };
        if (unit.isEmpty() || v <= 0) return (int) Math.min(Integer.MAX_VALUE, v);
        long lo = Long.highestOneBit(v), hi = lo << 1;
        return (int) Math.min(Integer.MAX_VALUE, v - lo <= hi - v ? lo : hi);
    }
}
