package dev.loupe.model.backend;

import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocation of regions in one fixed arena of {@code capacity} slots (floats of a device array): what a
 * device backend hands its {@link ActivationBuffer}s. Free regions are kept by offset and merged with their
 * neighbours when a region comes back, so a long run of claims and releases does not fragment the arena into
 * pieces too small to use. Plain bookkeeping with no device behind it, so it is tested on its own. Not
 * thread-safe: the owning backend serialises calls.
 */
public final class RegionAllocator {
    private final int capacity;
    /** Free regions: offset to length; never two adjacent ones (they are merged). */
    private final TreeMap<Integer, Integer> free = new TreeMap<>();
    private long live;
    private long peak;

    public RegionAllocator(int capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("capacity must be > 0, got " + capacity);
        this.capacity = capacity;
        free.put(0, capacity);
    }

    /** The offset of a free region of {@code size} slots, now claimed; -1 when no free region is that large. */
    public int claim(int size) {
        if (size <= 0) throw new IllegalArgumentException("size must be > 0, got " + size);
        int at = -1, length = 0;
        for (Map.Entry<Integer, Integer> e : free.entrySet()) {
            if (e.getValue() >= size) { at = e.getKey(); length = e.getValue(); break; }
        }
        if (at < 0) return -1;
        // Key and length are read before the remove: removing a TreeMap entry that has two children moves its
        // successor's key and value into that same entry object, so the entry must not be read afterwards.
        free.remove(at);
        if (length > size) free.put(at + size, length - size);
        live += size;
        peak = Math.max(peak, live);
        return at;
    }

    /** Gives back a region that {@link #claim} returned; it must not be used afterwards. */
    public void release(int at, int size) {
        if (at < 0 || size <= 0 || (long) at + size > capacity) {
            throw new IllegalArgumentException("region [" + at + ", " + ((long) at + size) + ") is outside the arena of " + capacity);
        }
        Map.Entry<Integer, Integer> prev = free.floorEntry(at);
        Map.Entry<Integer, Integer> next = free.ceilingEntry(at);
        if ((prev != null && prev.getKey() + prev.getValue() > at) || (next != null && next.getKey() < at + size)) {
            throw new IllegalStateException("region [" + at + ", " + (at + size) + ") is already free (released twice?)");
        }
        int start = at, len = size;
        if (next != null && next.getKey() == at + size) { free.remove(next.getKey()); len += next.getValue(); }
        if (prev != null && prev.getKey() + prev.getValue() == at) { start = prev.getKey(); len += prev.getValue(); }
        free.put(start, len);
        live -= size;
    }

    public int capacity() { return capacity; }

    /** Slots held by claimed regions. */
    public long live() { return live; }

    /** The most slots ever held by claimed regions at once. */
    public long peak() { return peak; }

    /** The largest region a claim could get now. */
    public int largestFree() {
        int best = 0;
        for (int len : free.values()) best = Math.max(best, len);
        return best;
    }

    /** Free regions by offset (a copy), for tests and diagnostics. */
    public TreeMap<Integer, Integer> freeRegions() { return new TreeMap<>(free); }
}
