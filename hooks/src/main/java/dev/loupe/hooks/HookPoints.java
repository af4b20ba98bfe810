package dev.loupe.hooks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The one registry of hook-point names: a model's points in the TransformerLens scheme, each with a dense id so
 * the forward pass can test "is anything attached here?" with an array lookup instead of string building, plus
 * the child points of composite hooks (a spliced SAE's {@code <hook>.hook_sae_acts_post}, ...) after them.
 * Immutable: {@link #with} returns a new registry.
 */
public final class HookPoints {
    public static final String EMBED = "hook_embed";
    public static final String LN_FINAL = "ln_final.hook_normalized";
    private final int layers;
    /** Hook points per block, and each {@link BlockHook}'s index within a block (-1: this model has no such point). */
    private final int perBlock;
    private final int[] slot;
    private final int modelPoints;
    private final List<String> names;
    private final Map<String, Integer> ids;
    /** For each child id (index id − modelPoints), the id of the point it hangs from. */
    private final int[] parents;

    /** The hook points of a model with {@code layers} blocks and the standard points in each ({@link BlockHook#standard}). */
    public HookPoints(int layers) { this(layers, BlockHook.standard()); }

    /** The hook points of a model with {@code layers} blocks, each with the points {@code blockHooks} (an architecture's). */
    public HookPoints(int layers, java.util.Set<BlockHook> blockHooks) {
        if (layers <= 0) throw new IllegalArgumentException("layers must be positive, got " + layers);
        List<String> all = new ArrayList<>();
        all.add(EMBED);
        for (int l = 0; l < layers; l++) {
            for (BlockHook h : BlockHook.values()) if (blockHooks.contains(h)) all.add(h.at(l));
        }
        all.add(LN_FINAL);
        this(layers, slots(blockHooks), all.size(), all, new int[0]);
    }

    private static int[] slots(java.util.Set<BlockHook> blockHooks) {
        int[] slot = new int[BlockHook.values().length];
        int next = 0;
        for (BlockHook h : BlockHook.values()) slot[h.ordinal()] = blockHooks.contains(h) ? next++ : -1;
        return slot;
    }

    private HookPoints(int layers, int[] slot, int modelPoints, List<String> names, int[] parents) {
        this.layers = layers;
        this.slot = slot;
        int count = 0;
        for (int s : slot) if (s >= 0) count++;
        this.perBlock = count;
        this.modelPoints = modelPoints;
        this.names = Collections.unmodifiableList(names);
        this.parents = parents;
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < names.size(); i++) m.put(names.get(i), i);
        this.ids = m;
    }

    /**
     * This registry plus {@code <parent>.<suffix>} for each suffix (those already registered are kept once).
     *
     * @throws UnknownHookException when {@code parent} is not registered
     */
    public HookPoints with(String parent, List<String> childSuffixes) {
        int parentId = id(parent);
        List<String> all = new ArrayList<>(names);
        List<Integer> newParents = new ArrayList<>();
        for (String s : childSuffixes) {
            String name = parent + "." + s;
            if (!ids.containsKey(name) && !all.contains(name)) {
                all.add(name);
                newParents.add(parentId);
            }
        }
        if (newParents.isEmpty()) return this;
        int[] p = java.util.Arrays.copyOf(parents, parents.length + newParents.size());
        for (int i = 0; i < newParents.size(); i++) p[parents.length + i] = newParents.get(i);
        return new HookPoints(layers, slot, modelPoints, all, p);
    }

    public int layers() { return layers; }

    /** Every registered point: the model's, then children in the order they were added. */
    public int size() { return names.size(); }

    public List<String> names() { return names; }

    /** The model's own points (no children). */
    public List<String> modelNames() { return names.subList(0, modelPoints); }

    public String name(int id) { return names.get(id); }

    /** Id of a block hook point; fails for a point this model's blocks do not have ({@link #has}). */
    public int blockId(int layer, BlockHook hook) {
        int s = slot[hook.ordinal()];
        if (s < 0) throw new IllegalArgumentException("this model's blocks have no " + hook.suffix());
        return 1 + layer * perBlock + s;
    }

    /** True when this model's blocks have the point {@code hook}. */
    public boolean has(BlockHook hook) { return slot[hook.ordinal()] >= 0; }

    public int embedId() { return 0; }

    public int lnFinalId() { return modelPoints - 1; }

    /** True for a child of a composite hook. */
    public boolean isChild(int id) { return id >= modelPoints; }

    /** The id a child point hangs from; the id itself for a model point. */
    public int parentOf(int id) { return isChild(id) ? parents[id - modelPoints] : id; }

    /** Layer of a hook id (a child's is its parent's), or -1 for hook_embed, {@code layers} for ln_final. */
    public int layerOf(int id) {
        id = parentOf(id);
        while (isChild(id)) id = parentOf(id);
        if (id == 0) return -1;
        if (id == modelPoints - 1) return layers;
        return (id - 1) / perBlock;
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
        Integer exact = ids.get(glob);
        if (exact != null) return List.of(exact);
        Glob g = Glob.of(glob);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) if (g.matches(names.get(i))) out.add(i);
        if (out.isEmpty()) throw UnknownHookException.of(glob, names);
        return out;
    }
}
