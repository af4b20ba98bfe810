package dev.loupe.model.backend;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class RegionAllocatorTest {

    private record Region(int at, int size) {
        boolean overlaps(Region o) { return at < o.at + o.size && o.at < at + size; }
    }

    /**
     * Interleaved claims and releases of mixed sizes (what a forward pass with per-call logits and scores does):
     * no two live regions may overlap, and live plus free must always cover the arena exactly. Removing a TreeMap
     * entry with two children moves its successor's key and value into that entry object, so an allocator that
     * reads the removed entry's length afterwards computes the leftover from the wrong region; this sequence hits
     * that case within a few hundred steps.
     */
    @Test
    void interleavedClaimsAndReleasesNeverOverlap() {
        for (long seed = 1; seed <= 20; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            RegionAllocator a = new RegionAllocator(10_000);
            List<Region> live = new ArrayList<>();
            for (int step = 0; step < 2_000; step++) {
                if (!live.isEmpty() && random.nextInt(3) == 0) {
                    Region r = live.remove(random.nextInt(live.size()));
                    a.release(r.at, r.size);
                } else {
                    int size = 1 + random.nextInt(random.nextBoolean() ? 50 : 600);
                    int at = a.claim(size);
                    if (at < 0) continue;
                    Region r = new Region(at, size);
                    for (Region o : live) {
                        if (r.overlaps(o)) fail("seed " + seed + " step " + step + ": claimed " + r + " overlaps live " + o);
                    }
                    assertTrue(at + size <= a.capacity(), "claimed past the arena");
                    live.add(r);
                }
                assertCovered(a, live, "seed " + seed + " step " + step);
            }
        }
    }

    private static void assertCovered(RegionAllocator a, List<Region> live, String where) {
        long liveSum = 0;
        for (Region r : live) liveSum += r.size;
        assertEquals(liveSum, a.live(), where + ": live count");
        long freeSum = 0;
        int end = -1;
        for (Map.Entry<Integer, Integer> e : a.freeRegions().entrySet()) {
            assertTrue(e.getKey() > end, where + ": free regions overlap or touch unmerged at " + e.getKey());
            Region f = new Region(e.getKey(), e.getValue());
            for (Region r : live) if (f.overlaps(r)) fail(where + ": free " + f + " overlaps live " + r);
            freeSum += e.getValue();
            end = e.getKey() + e.getValue();
        }
        assertEquals(a.capacity(), liveSum + freeSum, where + ": live + free must cover the arena");
    }

    @Test
    void releasingMergesNeighboursSoTheWholeArenaComesBack() {
        RegionAllocator a = new RegionAllocator(100);
        int x = a.claim(30), y = a.claim(30), z = a.claim(40);
        assertEquals(-1, a.claim(1));
        a.release(y, 30);
        a.release(x, 30);
        a.release(z, 40);
        assertEquals(Map.of(0, 100), a.freeRegions());
        assertEquals(0, a.claim(100));
    }

    @Test
    void aDoubleReleaseOrAForeignRegionIsRefused() {
        RegionAllocator a = new RegionAllocator(100);
        int x = a.claim(10);
        a.release(x, 10);
        assertThrows(IllegalStateException.class, () -> a.release(x, 10));
        assertThrows(IllegalArgumentException.class, () -> a.release(95, 10));
        assertThrows(IllegalArgumentException.class, () -> a.claim(0));
    }
}
