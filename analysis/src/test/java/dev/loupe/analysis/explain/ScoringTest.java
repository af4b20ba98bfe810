package dev.loupe.analysis.explain;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Balanced accuracy and answer reading, against values worked out by hand. */
class ScoringTest {
    @Test void balancedAccuracyIsTheMeanOfBothRecalls() {
        boolean[] truth = {true, true, true, false, false};
        // TP 2 of 3 positives, TN 1 of 2 negatives: (2/3 + 1/2) / 2 = 7/12
        assertEquals(7.0 / 12, Scoring.balancedAccuracy(truth, new int[]{1, 0, 1, 0, 1}), 1e-15);
        assertEquals(0.5, Scoring.balancedAccuracy(truth, new int[]{1, 1, 1, 1, 1}), 0.0, "all 1 is chance whatever the mix");
        assertEquals(0.5, Scoring.balancedAccuracy(truth, new int[]{0, 0, 0, 0, 0}), 0.0);
        assertEquals(1.0, Scoring.balancedAccuracy(truth, new int[]{1, 1, 1, 0, 0}), 0.0);
        assertEquals(0.0, Scoring.balancedAccuracy(truth, new int[]{0, 0, 0, 1, 1}), 0.0);
        assertNull(Scoring.balancedAccuracy(new boolean[]{true, true}, new int[]{1, 0}), "one class only: undefined");
    }

    @Test void readsTheLastListOfTheRightLength() {
        assertArrayEquals(new int[]{1, 0, 1}, Scoring.parse("Thinking [1, 1]... answer: [1, 0, 1]", 3));
        assertArrayEquals(new int[]{0, 0, 1}, Scoring.parse("[1,0,1]\nno wait: [0,0,1]", 3));
        assertNull(Scoring.parse("[1, 2, 0]", 3));
        assertNull(Scoring.parse("yes, no, yes", 3));
        assertEquals("fires on city names", Scoring.explanation("Let me see.\n[EXPLANATION]: fires on city names\n"));
        assertEquals("last line", Scoring.explanation("no marker\nlast line"));
    }
}
