package dev.loupe.model.tokenizer;

import java.util.Arrays;

/**
 * The merges list of a BPE model: for a pair of adjacent ids, its rank (position in the list, lower
 * merges first) and the id it merges into. Open addressing over primitive keys: 580k merges would
 * otherwise be 580k boxed map entries.
 */
final class PairRanks {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final int[] ranks;
    private final int mask;
    private final int[] mergedIds;
    private int count;

    PairRanks(int capacity) {
        int size = Integer.highestOneBit(Math.max(capacity, 8) * 2 - 1) * 2;
        keys = new long[size];
        Arrays.fill(keys, EMPTY);
        ranks = new int[size];
        mask = size - 1;
        mergedIds = new int[capacity];
    }

    private static long key(int left, int right) { return (long) left << 32 | (right & 0xffffffffL); }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ h >>> 29) & mask;
    }

    /** Adds the merge with the next rank. A pair listed twice keeps its later rank, as tokenizers does. */
    void add(int left, int right, int merged) {
        if (count == mergedIds.length) throw new IllegalStateException("more merges than announced");
        long k = key(left, right);
        int s = slot(k);
        while (keys[s] != EMPTY && keys[s] != k) s = (s + 1) & mask;
        keys[s] = k;
        ranks[s] = count;
        mergedIds[count++] = merged;
    }

    /** The rank of merging {@code left} and {@code right}, or -1 when they do not merge. */
    int rank(int left, int right) {
        long k = key(left, right);
        int s = slot(k);
        while (true) {
            long at = keys[s];
            if (at == k) return ranks[s];
            if (at == EMPTY) return -1;
            s = (s + 1) & mask;
        }
    }

    int mergedId(int rank) { return mergedIds[rank]; }

    int size() { return count; }
}
