package dev.loupe.hooks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Copies of the activations seen at chosen hook points. Each firing is kept; {@link #get} joins them
 * along the position axis, so a prompt followed by generation steps reads as one sequence. Only the
 * names asked for are kept: a full cache of Gemma 2 2B is gigabytes.
 */
public final class ActivationCache {
    private final Map<String, List<Activation>> seen = new LinkedHashMap<>();

    /** A hook that records into this cache (reading only). */
    public ReadingHook recorder() {
        return a -> {
            synchronized (seen) { seen.computeIfAbsent(a.name(), k -> new ArrayList<>()).add(a.copy()); }
        };
    }

    /** A hook set that records every hook point matching any of the globs. */
    public HookSet hooksFor(List<String> globs) {
        HookSet set = HookSet.empty();
        ReadingHook rec = recorder();
        for (String g : globs) set = set.with(g, rec);
        return set;
    }

    public Set<String> names() { return Collections.unmodifiableSet(seen.keySet()); }

    public boolean contains(String name) { return seen.containsKey(name); }

    /** Every firing at a hook point, in order. */
    public List<Activation> firings(String name) {
        List<Activation> l = seen.get(name);
        if (l == null) throw missing(name);
        return Collections.unmodifiableList(l);
    }

    /**
     * All firings at a hook point joined along positions: {@code [positions, dim]}, or for attention
     * scores/patterns {@code [heads, positions, keys]} with keys padded to the longest firing (padding is 0,
     * which is what a causal pattern holds there anyway).
     */
    public Activation get(String name) {
        List<Activation> parts = seen.get(name);
        if (parts == null) throw missing(name);
        if (parts.size() == 1) return parts.getFirst();
        Activation first = parts.getFirst();
        int[] shape = first.shape();
        int total = 0;
        for (Activation a : parts) total += a.positions();
        if (shape.length == 2) {
            float[] out = new float[total * shape[1]];
            int off = 0;
            for (Activation a : parts) {
                System.arraycopy(a.data(), 0, out, off, a.data().length);
                off += a.data().length;
            }
            return new Activation(name, new int[]{total, shape[1]}, out, first.firstPosition());
        }
        int heads = shape[0];
        int keys = 0;
        for (Activation a : parts) keys = Math.max(keys, a.shape()[2]);
        float[] out = new float[heads * total * keys];
        int row = 0;
        for (Activation a : parts) {
            int p = a.shape()[1], k = a.shape()[2];
            for (int h = 0; h < heads; h++) {
                for (int r = 0; r < p; r++) {
                    System.arraycopy(a.data(), (h * p + r) * k, out, (h * total + row + r) * keys, k);
                }
            }
            row += p;
        }
        return new Activation(name, new int[]{heads, total, keys}, out, first.firstPosition());
    }

    public void clear() { seen.clear(); }

    private IllegalArgumentException missing(String name) {
        return new IllegalArgumentException("hook point '" + name + "' was not cached; cached: " + seen.keySet());
    }
}
