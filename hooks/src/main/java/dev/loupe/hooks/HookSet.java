package dev.loupe.hooks;

import java.util.ArrayList;
import java.util.List;

/**
 * The hooks attached for one call (a run or a generation), by name or glob. Immutable: {@link #with}
 * returns a new set, so nothing stays attached after the call that used it.
 */
public final class HookSet {
    /** One attachment: a glob (or exact name) and what to run there. */
    public record Binding(String pattern, Hook hook) {}

    private static final HookSet EMPTY = new HookSet(List.of());
    private final List<Binding> bindings;

    private HookSet(List<Binding> bindings) { this.bindings = List.copyOf(bindings); }

    public static HookSet empty() { return EMPTY; }

    public static HookSet of(String pattern, Hook hook) { return EMPTY.with(pattern, hook); }

    public HookSet with(String pattern, Hook hook) {
        List<Binding> b = new ArrayList<>(bindings);
        b.add(new Binding(pattern, hook));
        return new HookSet(b);
    }

    public HookSet with(HookSet other) {
        List<Binding> b = new ArrayList<>(bindings);
        b.addAll(other.bindings);
        return new HookSet(b);
    }

    public List<Binding> bindings() { return bindings; }

    public boolean isEmpty() { return bindings.isEmpty(); }

    /**
     * Resolves every pattern against {@link #points(HookPoints) the registry} of a model's hook points plus the
     * children of this set's composite hooks; an unknown name fails here, before any compute, listing the closest
     * valid names of either kind.
     */
    public BoundHooks bind(HookPoints points) {
        HookPoints all = points(points);
        List<List<Hook>> byId = new ArrayList<>(all.size());
        for (int i = 0; i < all.size(); i++) byId.add(new ArrayList<>());
        for (Binding b : bindings) {
            for (int id : all.matching(b.pattern())) byId.get(id).add(b.hook());
        }
        return new BoundHooks(all, byId);
    }

    /**
     * The registry this set binds against: {@code model}'s points plus, for each {@link CompositeHook} (a spliced
     * SAE), {@code <point>.<child>} at every point it is attached to. This is what a UI lists as attachable names.
     */
    public HookPoints points(HookPoints model) {
        HookPoints all = model;
        for (Binding b : bindings) {
            if (b.hook() instanceof CompositeHook c) {
                for (int id : all.matching(b.pattern())) all = all.with(all.name(id), c.childPoints());
            }
        }
        return all;
    }
}
