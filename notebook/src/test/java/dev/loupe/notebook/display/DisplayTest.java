package dev.loupe.notebook.display;

import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ActivationCache;
import dev.loupe.model.RunResult;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The notebook display helpers: markup that escapes text, colour scales, bins and ticks checked by hand. */
class DisplayTest {

    @Test
    void shadingEscapesTokensAndScalesColourToTheLargestValue() {
        Html h = Shading.of(List.of("<bos>", " a&b", "\n"), new float[]{0f, 2f, 1f});
        String s = h.html();
        assertTrue(s.contains("&lt;bos&gt;"), s);
        assertTrue(s.contains(" a&amp;b"), s);
        assertTrue(s.contains("\u21b5"), "a newline token shows as a visible symbol");
        assertTrue(s.contains("rgba(255,127,14,1.00)"), "the largest value is full colour");
        assertTrue(s.contains("rgba(255,127,14,0.50)"), "half the largest value is half colour");
        assertTrue(s.contains("background:transparent"), "zero is not shaded");
        assertEquals("rgba(31,119,180,0.25)", Shading.background(-1f, 4f), "negative values shade blue");
        assertThrows(IllegalArgumentException.class, () -> Shading.of(List.of("a"), new float[]{1, 2}));
    }

    @Test
    void histogramBinsValuesBetweenMinimumAndMaximum() {
        // [0, 1, 2, 3, 4] in 2 bins of width 2: [0, 2) holds 0 and 1; [2, 4] holds 2, 3 and the maximum 4.
        Histogram h = Plot.histogram(new float[]{0, 1, 2, 3, 4, Float.NaN}, 2);
        assertArrayEquals(new float[]{0, 2, 4}, h.edges());
        assertArrayEquals(new long[]{2, 3}, h.counts());
        assertEquals(5, h.total(), "NaN is left out");
        assertEquals(2, rects(h.svg()), "one bar per non-empty bin");
        assertThrows(IllegalArgumentException.class, () -> Plot.histogram(new float[]{1, 2}, new long[]{1, 2}));
    }

    @Test
    void ticksAreRoundNumbersInsideTheRange() {
        assertArrayEquals(new double[]{0, 2, 4, 6, 8, 10}, Svg.ticks(0, 10), 1e-12);
        assertArrayEquals(new double[]{-1, -0.5, 0, 0.5, 1}, Svg.ticks(-1, 1), 1e-12);
        assertEquals("0.5", Svg.label(0.5));
        assertEquals("12", Svg.label(12.0));
    }

    @Test
    void linePlotDrawsOnePathPerSeriesAndKeepsPointsInsideTheFrame() {
        LinePlot p = Plot.line().title("t <x>").series("a", new double[]{0, 1, 2}, new double[]{1, 3, 2})
                .series("b", new double[]{0, 1, 2}, new double[]{0, 0, 0});
        String svg = p.svg();
        assertEquals(2, count(svg, "<path "), svg);
        assertTrue(svg.contains("t &lt;x&gt;"), "titles are escaped");
        Matcher m = Pattern.compile("cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"").matcher(svg);
        int points = 0;
        while (m.find()) {
            points++;
            double x = Double.parseDouble(m.group(1)), y = Double.parseDouble(m.group(2));
            assertTrue(x >= 62 && x <= p.width() && y >= 28 && y <= p.height() - 44, "point at " + x + "," + y);
        }
        assertEquals(6, points);
        assertThrows(IllegalArgumentException.class, () -> Plot.line().series("bad", new double[]{1}, new double[]{1, 2}));
    }

    @Test
    void attentionHeatmapTakesOneHeadOfAPattern() {
        // [heads 2, positions 2, keys 2]: head 1 is {{1, 0}, {0.25, 0.75}}.
        Activation pattern = new Activation("blocks.0.attn.hook_pattern", new int[]{2, 2, 2},
                new float[]{1, 0, 0.5f, 0.5f, 1, 0, 0.25f, 0.75f}, 0);
        Heatmap h = Plot.attention(pattern, 1, List.of("<bos>", "x"));
        assertArrayEquals(new float[]{1, 0, 0.25f, 0.75f}, h.values());
        assertEquals(List.of("<bos>", "x"), h.rowLabels());
        assertTrue(h.svg().contains("&lt;bos&gt; \u2192 &lt;bos&gt;: 1"), "cells carry their value");
        assertEquals("#ffffff", Heatmap.colour(0));
        assertEquals("#08306b", Heatmap.colour(1));
        assertThrows(IllegalArgumentException.class, () -> Plot.attention(pattern, 2, List.of("a", "b")));
    }

    @Test
    void tableEscapesTextKeepsHtmlCellsAndFormatsNumbers() {
        Table t = Table.of("a", "b", "c").row("<x>", new Html("<b>y</b>"), 0.123456).row(1, 2.5f, 1e-9);
        String s = t.content();
        assertTrue(s.contains("&lt;x&gt;") && s.contains("<b>y</b>") && s.contains(">0.1235<") && s.contains(">2.5<")
                && s.contains(">1.000e-09<"), s);
        assertThrows(IllegalArgumentException.class, () -> t.row("only one"));
    }

    @Test
    void logProbsAreTheLogSoftmaxOfTheLogits() {
        // logits (0, ln 3): probabilities 1/4 and 3/4.
        RunResult r = new RunResult(new float[]{0f, (float) Math.log(3)}, 1, 1, 2, new ActivationCache());
        double[] lp = r.logProbsAt(0);
        assertEquals(Math.log(0.25), lp[0], 1e-6);
        assertEquals(Math.log(0.75), lp[1], 1e-6);
    }

    private static int rects(String svg) { return count(svg, "<rect x=") ; }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
        return n;
    }
}
