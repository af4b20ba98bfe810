package dev.loupe.hooks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ActivationNormsTest {
    @Test
    void rowNormsAreTheEuclideanLengthOfEachPosition() {
        // Rows (3, 4) and (0, -2): lengths 5 and 2.
        Activation a = new Activation("blocks.0.hook_resid_post", new int[]{2, 2}, new float[]{3, 4, 0, -2}, 0);
        assertArrayEquals(new double[]{5, 2}, a.rowNorms(), 1e-12);
        Activation pattern = new Activation("blocks.0.attn.hook_pattern", new int[]{1, 1, 1}, new float[]{1}, 0);
        assertThrows(IllegalArgumentException.class, pattern::rowNorms);
    }
}
