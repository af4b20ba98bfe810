package dev.loupe.sae.fit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class TopValuesTest {
    @Test void largestFirstWithinTheSlice() {
        float[] v = {100, 3, 1, 4, 1, 5, 9, 2, 6, 100};
        // The slice [1, 9) holds 3 1 4 1 5 9 2 6: the three largest are 9 (index 5), 6 (7) and 5 (4).
        assertArrayEquals(new int[]{5, 7, 4}, TopValues.of(v, 1, 8, 3));
    }

    @Test void tiesGoToTheLowerIndexAndKIsCappedAtTheSliceLength() {
        assertArrayEquals(new int[]{0, 1}, TopValues.of(new float[]{2, 2, 1, 2}, 0, 4, 2));
        assertArrayEquals(new int[]{1, 2, 0}, TopValues.of(new float[]{-1, 7, 0}, 0, 3, 10));
        assertArrayEquals(new int[]{}, TopValues.of(new float[]{1, 2}, 0, 2, 0));
    }
}
