package dev.loupe.sae.fit;

/**
 * The {@code k} largest values of an array slice with their indices, largest first (ties: lower index first),
 * found with a size-{@code k} min-heap in one pass.
 */
public final class TopValues {
    private TopValues() {}

    /** Indices (relative to {@code off}) of the {@code k} largest of {@code values[off, off + n)}, largest first. */
    public static int[] of(float[] values, int off, int n, int k) {
        k = Math.min(k, n);
        int[] heap = new int[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (size < k) {
                heap[size] = i;
                siftUp(values, off, heap, size++);
            } else if (k > 0 && before(values, off, i, heap[0])) {
                heap[0] = i;
                siftDown(values, off, heap, size);
            }
        }
        // Popping the heap's minimum repeatedly fills the result from the back.
        int[] out = new int[size];
        for (int last = size - 1; last >= 0; last--) {
            out[last] = heap[0];
            heap[0] = heap[last];
            siftDown(values, off, heap, last);
        }
        return out;
    }

    /** Whether index a ranks above index b: larger value, or equal value and lower index. */
    private static boolean before(float[] v, int off, int a, int b) {
        float x = v[off + a], y = v[off + b];
        return x > y || (x == y && a < b);
    }

    private static void siftUp(float[] v, int off, int[] heap, int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(v, off, heap[parent], heap[i])) break;
            swap(heap, i, parent);
            i = parent;
        }
    }

    private static void siftDown(float[] v, int off, int[] heap, int size) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, low = i;
            if (l < size && before(v, off, heap[low], heap[l])) low = l;
            if (r < size && before(v, off, heap[low], heap[r])) low = r;
            if (low == i) return;
            swap(heap, i, low);
            i = low;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
