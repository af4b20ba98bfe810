package dev.loupe.sae;

import dev.loupe.hooks.HookPoints;
import dev.loupe.hooks.HookSet;

import java.util.ArrayList;
import java.util.Comparator;
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
            HookNamePattern glob = HookNamePattern.of(b.pattern());
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
        List<String> all = Stream.concat(points.names().stream(), splices.stream().flatMap(s -> s.internalHookNames().stream())).toList();
        List<String> closest = all.stream()
                .sorted(Comparator.comparingInt((String v) -> editDistance(pattern, v)).thenComparing(v -> v))
                .limit(3).toList();
        return new IllegalArgumentException("unknown hook point '" + pattern + "'; closest valid names: " + String.join(", ", closest));
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
