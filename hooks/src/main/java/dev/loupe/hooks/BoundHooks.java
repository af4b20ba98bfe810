package dev.loupe.hooks;

import java.util.List;

/** A {@link HookSet} resolved to hook-point ids: what the forward pass consults at every hook point. */
public final class BoundHooks {
    private static final Hook[] NONE = new Hook[0];
    private final HookPoints points;
    private final Hook[][] byId;
    private final int lastActiveLayer;

    BoundHooks(HookPoints points, List<List<Hook>> byId) {
        this.points = points;
        this.byId = new Hook[byId.size()][];
        int last = -2;
        for (int i = 0; i < byId.size(); i++) {
            this.byId[i] = byId.get(i).isEmpty() ? NONE : byId.get(i).toArray(Hook[]::new);
            if (this.byId[i].length > 0) last = Math.max(last, points.layerOf(i));
        }
        this.lastActiveLayer = last;
    }

    public static BoundHooks none(HookPoints points) { return HookSet.empty().bind(points); }

    public HookPoints points() { return points; }

    /** True when something is attached at this id: only then does the engine build an {@link Activation}. */
    public boolean active(int id) { return byId[id].length > 0; }

    /** Runs the hooks at this id in attachment order; each sees the previous one's changes. */
    public void fire(int id, Activation a) {
        for (Hook h : byId[id]) h.apply(a);
    }

    /** The deepest layer with a hook attached (-1 for hook_embed only, layers for ln_final, -2 for none). */
    public int lastActiveLayer() { return lastActiveLayer; }
}
