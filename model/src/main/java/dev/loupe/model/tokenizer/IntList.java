package dev.loupe.model.tokenizer;

import java.util.Arrays;

/** A growable int array, so encoding does not box every id. */
final class IntList {
    private int[] data;
    private int size;

    IntList(int capacity) { data = new int[Math.max(capacity, 4)]; }

    void add(int v) {
        if (size == data.length) data = Arrays.copyOf(data, size * 2);
        data[size++] = v;
    }

    int size() { return size; }

    int get(int i) { return data[i]; }

    int[] toArray() { return Arrays.copyOf(data, size); }
}
