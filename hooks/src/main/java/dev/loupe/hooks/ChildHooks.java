package dev.loupe.hooks;

/**
 * The hooks bound at the child points of one {@link CompositeHook} where it is attached, indexed like its
 * {@link CompositeHook#childPoints()}: a composite asks {@link #active} before building an activation, as the
 * forward pass does.
 */
public final class ChildHooks {
    /** Nothing attached at any child. */
    public static final ChildHooks NONE = new ChildHooks(null, null, new int[0]);

    private final BoundHooks bound;
    private final String parent;
    private final int[] ids;

    ChildHooks(BoundHooks bound, String parent, int[] ids) {
        this.bound = bound;
        this.parent = parent;
        this.ids = ids;
    }

    /** True when a hook is attached at child {@code index}. */
    public boolean active(int index) { return index < ids.length && bound.active(ids[index]); }

    /** True when a hook is attached at any child. */
    public boolean anyActive() {
        for (int i = 0; i < ids.length; i++) if (active(i)) return true;
        return false;
    }

    /** The full name of child {@code index} ({@code <parent>.<child>}). */
    public String name(int index) { return bound.points().name(ids[index]); }

    /** Runs the hooks at child {@code index} (a no-op when none is attached). */
    public void fire(int index, Activation a) {
        if (active(index)) bound.fire(ids[index], a);
    }

    @Override public String toString() { return "ChildHooks[" + parent + "]"; }
}
