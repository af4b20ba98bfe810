package dev.loupe.hooks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.HashMap;

/**
 * The hook-point names of one model shape, in the TransformerLens scheme, each with a dense id so the
 * forward pass can test "is anything attached here?" with an array lookup instead of string building.
 */
public final class HookPoints {
    public static final String EMBED = "hook_embed";
    public static final String LN_FINAL = "ln_final.hook_normalized";

    /** Per-block hook suffixes, in the order the forward pass reaches them. */
    public static final List<String> BLOCK_SUFFIXES = List.of(
            "hook_resid_pre",
            "attn.hook_q", "attn.hook_k", "attn.hook_v",
            "attn.hook_rot_q", "attn.hook_rot_k",
            "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z",
            "hook_attn_out", "hook_resid_mid",
            "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out",
            "hook_resid_post");

    /** Indexes into {@link #BLOCK_SUFFIXES}, for {@link #blockId}. */
    public static final int RESID_PRE = 0, Q = 1, K = 2, V = 3, ROT_Q = 4, ROT_K = 5, ATTN_SCORES = 6, PATTERN = 7,
            Z = 8, ATTN_OUT = 9, RESID_MID = 10, MLP_PRE = 11, MLP_POST = 12, MLP_OUT = 13, RESID_POST = 14;

    private final int layers;
    private final List<String> names;
    private final Map<String, Integer> ids;

    public HookPoints(int layers) {
        if (layers <= 0) throw new IllegalArgumentException("layers must be positive, got " + layers);
        this.layers = layers;
        List<String> all = new ArrayList<>();
        all.add(EMBED);
        for (int l = 0; l < layers; l++) {
            for (String s : BLOCK_SUFFIXES) all.add(block(l, s));
        }
        all.add(LN_FINAL);
        this.names = Collections.unmodifiableList(all);
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < all.size(); i++) m.put(all.get(i), i);
        this.ids = m;
    }

    public static String block(int layer, String suffix) { return "blocks." + layer + "." + suffix; }
    public static String residPre(int layer) { return block(layer, "hook_resid_pre"); }
    public static String residMid(int layer) { return block(layer, "hook_resid_mid"); }
    public static String residPost(int layer) { return block(layer, "hook_resid_post"); }
    public static String attnOut(int layer) { return block(layer, "hook_attn_out"); }
    public static String mlpOut(int layer) { return block(layer, "hook_mlp_out"); }
    public static String pattern(int layer) { return block(layer, "attn.hook_pattern"); }
    public static String attnZ(int layer) { return block(layer, "attn.hook_z"); }

    public int layers() { return layers; }
    public int size() { return names.size(); }
    public List<String> names() { return names; }
    public String name(int id) { return names.get(id); }

    /** Id of a block hook: suffix index within BLOCK_SUFFIXES. */
    public int blockId(int layer, int suffixIndex) { return 1 + layer * BLOCK_SUFFIXES.size() + suffixIndex; }
    public int embedId() { return 0; }
    public int lnFinalId() { return names.size() - 1; }

    /** Layer of a hook id, or -1 for hook_embed, {@code layers} for ln_final. */
    public int layerOf(int id) {
        if (id == 0) return -1;
        if (id == names.size() - 1) return layers;
        return (id - 1) / BLOCK_SUFFIXES.size();
    }

    /** The id of an exact name, or an {@link UnknownHookException} that lists the closest valid names. */
    public int id(String name) {
        Integer id = ids.get(name);
        if (id == null) throw UnknownHookException.of(name, names);
        return id;
    }

    public boolean contains(String name) { return ids.containsKey(name); }

    /** All ids whose names match a glob ({@code *} any run of characters, {@code ?} one); an exact name matches itself. */
    public List<Integer> matching(String glob) {
        Glob g = Glob.of(glob);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) if (g.matches(names.get(i))) out.add(i);
        if (out.isEmpty()) throw UnknownHookException.of(glob, names);
        return out;
    }
}
