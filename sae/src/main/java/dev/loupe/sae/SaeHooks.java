package dev.loupe.sae;

import dev.loupe.hooks.Glob;
import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.UnknownHookException;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Combines a model's hooks with spliced SAEs, the way SAELens's HookedSAETransformer names things: bindings on
 * {@code <hook>.hook_sae_*} go to the splice at {@code <hook>}, the others stay on the model. A name or glob
 * that matches neither a model hook point nor an SAE hook point fails here, listing the closest valid names.
 */
public final class SaeHooks {
    private SaeHooks() {}

    /**
     * The hook set to run the model with: {@code user}'s model bindings in their order, then each splice (carrying
     * the user's bindings on its internal points). A glob like {@code blocks.2.*} attaches to both.
     */
    public static HookSet splice(HookPoints points, HookSet user, List<SaeSplice> splices) {
        List<SaeSplice> routed = new ArrayList<>(splices);
        for (SaeSplice s : splices) {
            if (!points.contains(s.hookName())) {
                throw new IllegalArgumentException(s.sae().config().source() + ": the SAE's hook point '" + s.hookName()
                        + "' is not a hook point of this model");
            }
        }
        HookSet model = HookSet.empty();
        for (HookSet.Binding b : user.bindings()) {
            Glob glob = Glob.of(b.pattern());
            boolean onModel = points.names().stream().anyMatch(glob::matches);
            boolean onSae = false;
            for (int i = 0; i < routed.size(); i++) {
                SaeSplice s = routed.get(i);
                if (s.internalHookNames().stream().anyMatch(glob::matches)) {
                    routed.set(i, s.withHook(b.pattern(), b.hook()));
                    onSae = true;
                }
            }
            if (onModel) model = model.with(b.pattern(), b.hook());
            if (!onModel && !onSae) throw unknown(b.pattern(), points, splices);
        }
        for (SaeSplice s : routed) model = model.with(s.hookSet());
        return model;
    }

    public static HookSet splice(HookPoints points, HookSet user, SaeSplice... splices) {
        return splice(points, user, List.of(splices));
    }

    private static IllegalArgumentException unknown(String pattern, HookPoints points, List<SaeSplice> splices) {
        return UnknownHookException.of(pattern,
                Stream.concat(points.names().stream(), splices.stream().flatMap(s -> s.internalHookNames().stream())).toList());
    }
}
