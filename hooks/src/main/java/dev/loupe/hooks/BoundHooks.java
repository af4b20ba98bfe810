package dev.loupe.hooks;

import java.util.List;

/**
 * A {@link HookSet} resolved against a registry of hook points (the model's, plus the children of any composite
 * hooks in the set): what the forward pass consults at every hook point.
 */
public final class BoundHooks {
    private static final Hook[] NONE = new Hook[0];
    private final HookPoints points;
    private final Hook[][] byId;
    /** For each hook in {@link #byId} that is a {@link CompositeHook}, its children where it is attached; else null. */
    private final ChildHooks[][] children;

    BoundHooks(HookPoints points, List<List<Hook>> byId) {
        this.points = points;
        this.byId = new Hook[byId.size()][];
        this.children = new ChildHooks[byId.size()][];
        for (int i = 0; i < byId.size(); i++) {
            Hook[] hooks = byId.get(i).isEmpty() ? NONE : byId.get(i).toArray(Hook[]::new);
            this.byId[i] = hooks;
            for (int j = 0; j < hooks.length; j++) {
                if (hooks[j] instanceof CompositeHook c) {
                    if (children[i] == null) children[i] = new ChildHooks[hooks.length];
                    children[i][j] = childrenOf(points.name(i), c);
                }
            }
        }
    }

    /**
     * The hooks of this binding at the points of {@code c} attached at {@code parent}: how the backward pass hands a
     * spliced SAE the gradient hooks at its own points (bound in a separate set from the forward hooks).
     */
    public ChildHooks childrenOf(String parent, CompositeHook c) {
        List<String> suffixes = c.childPoints();
        int[] ids = new int[suffixes.size()];
        for (int k = 0; k < ids.length; k++) ids[k] = points.id(parent + "." + suffixes.get(k));
        return new ChildHooks(this, parent, ids);
    }

    public static BoundHooks none(HookPoints points) { return HookSet.empty().bind(points); }

    /** The registry these hooks were resolved against, spliced children included. */
    public HookPoints points() { return points; }

    /** True when something is attached at this id: only then does the engine build an {@link Activation}. */
    public boolean active(int id) { return byId[id].length > 0; }

    /** The hooks attached at this id, in attachment order (the backward pass walks them in reverse). */
    public java.util.List<Hook> hooksAt(int id) { return java.util.List.of(byId[id]); }

    /** The children of the {@code index}-th hook at this id when it is a {@link CompositeHook}, else {@link ChildHooks#NONE}. */
    public ChildHooks childrenAt(int id, int index) {
        return children[id] != null && children[id][index] != null ? children[id][index] : ChildHooks.NONE;
    }

    /** Runs the {@code index}-th hook at this id alone (with its children when composite). */
    public void fireOne(int id, int index, Activation a) {
        Hook h = byId[id][index];
        if (children[id] != null && children[id][index] != null) ((CompositeHook) h).apply(a, children[id][index]);
        else h.apply(a);
    }

    /** Runs the hooks at this id in attachment order; each sees the previous one's changes. */
    public void fire(int id, Activation a) {
        Hook[] hooks = byId[id];
        for (int j = 0; j < hooks.length; j++) {
            if (children[id] != null && children[id][j] != null) ((CompositeHook) hooks[j]).apply(a, children[id][j]);
            else hooks[j].apply(a);
        }
    }
}
