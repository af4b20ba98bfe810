package dev.loupe.hooks;

import java.util.List;

/**
 * A hook with hook points of its own, such as an SAE spliced into the model (SAELens's {@code hook_sae_acts_post},
 * ...). Attached at a point {@code P}, it adds {@code P.<child>} for each of its {@link #childPoints()} to the
 * registry the hook set binds against, so hooks on those names attach, glob and fail with the closest valid names
 * like any model hook point ({@link HookSet#bind}).
 */
public interface CompositeHook extends Hook {
    /** Suffixes of the child points, in the order they fire. */
    List<String> childPoints();

    /** Runs at the point it is attached to, firing {@code children} (indexed like {@link #childPoints()}) as it goes. */
    void apply(Activation activation, ChildHooks children);

    /** Runs with nothing attached at its children. */
    @Override
    default void apply(Activation activation) { apply(activation, ChildHooks.NONE); }
}
