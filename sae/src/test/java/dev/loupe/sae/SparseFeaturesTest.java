package dev.loupe.sae;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SparseFeaturesTest {
    private final SparseFeatures f = SparseFeatures.of(10, 5,
            List.of(new int[]{3, 7, 1, 9}, new int[]{}, new int[]{4}),
            List.of(new float[]{0.5f, 2f, 2f, -1f}, new float[]{}, new float[]{0f}));

    @Test void rowsAreSortedByValueThenId() {
        assertArrayEquals(new int[]{1, 7, 3, 9}, f.ids(0));
        assertArrayEquals(new float[]{2f, 2f, 0.5f, -1f}, f.values(0));
    }

    @Test void zerosAreDroppedAndL0Counts() {
        assertArrayEquals(new int[]{4, 0, 0}, f.l0());
        assertEquals(4, f.totalActive());
        assertEquals(3, f.positions());
        assertEquals(5, f.firstPosition());
    }

    @Test void topKAndGet() {
        assertEquals(List.of(new SparseFeatures.Feature(1, 2f), new SparseFeatures.Feature(7, 2f)), f.topK(0, 2));
        assertEquals(4, f.topK(0, 99).size());
        assertEquals(0, f.topK(1, 3).size());
        assertEquals(0.5f, f.get(0, 3));
        assertEquals(0f, f.get(0, 4));
    }

    @Test void denseRoundTrip() {
        float[] d = f.dense();
        assertEquals(30, d.length);
        assertEquals(2f, d[7]);
        assertEquals(-1f, d[9]);
        SparseFeatures back = SparseFeatures.fromDense(d, 3, 10, 5);
        assertArrayEquals(d, back.dense());
        assertArrayEquals(f.ids(0), back.ids(0));
        assertArrayEquals(new float[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, f.dense(1));
    }

    @Test void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> SparseFeatures.of(4, 0, List.of(new int[]{4}), List.of(new float[]{1f})));
        assertThrows(IllegalArgumentException.class, () -> SparseFeatures.fromDense(new float[5], 2, 2, 0));
    }
}
