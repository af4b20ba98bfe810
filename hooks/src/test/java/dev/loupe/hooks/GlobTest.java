package dev.loupe.hooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GlobTest {
    @Test void hookNamePatterns() {
        assertTrue(Glob.of("blocks.*.hook_resid_post").matches("blocks.12.hook_resid_post"));
        assertFalse(Glob.of("blocks.*.hook_resid_post").matches("blocks.12.hook_resid_pre"));
        assertTrue(Glob.of("blocks.?.attn.*").matches("blocks.3.attn.hook_z"));
        assertFalse(Glob.of("blocks.?.attn.*").matches("blocks.13.attn.hook_z"));
        assertTrue(Glob.of("*").matches(""));
        assertTrue(Glob.of("").matches(""));
        assertFalse(Glob.of("").matches("a"));
        assertTrue(Glob.of("hook_embed").matches("hook_embed"));
        assertFalse(Glob.of("hook_embed").matches("hook_embedx"));
        // Regex metacharacters are literal.
        assertTrue(Glob.of("a.b(c)[d]+").matches("a.b(c)[d]+"));
        assertFalse(Glob.of("a.b").matches("axb"));
    }

    /** The regex translation (quoting literals) is an independent oracle on short random inputs. */
    @Test void agreesWithARegexOnRandomPatterns() {
        SplittableRandom rnd = new SplittableRandom(7);
        String alphabet = "ab*?";
        for (int trial = 0; trial < 20_000; trial++) {
            String glob = random(rnd, alphabet, rnd.nextInt(7));
            String name = random(rnd, "ab", rnd.nextInt(8));
            StringBuilder re = new StringBuilder();
            for (char c : glob.toCharArray()) re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
            assertEquals(Pattern.matches(re.toString(), name), Glob.of(glob).matches(name), glob + " vs " + name);
        }
    }

    /** 16 stars before a missing letter took minutes with the regex; the linear matcher answers at once. */
    @Test @Timeout(value = 2, unit = TimeUnit.SECONDS)
    void manyStarsDoNotBacktrackExponentially() {
        HookPoints points = new HookPoints(26);
        String glob = "*".repeat(16) + "Z";
        for (String n : points.names()) assertFalse(Glob.of(glob).matches(n));
        assertFalse(Glob.of("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b").matches("a".repeat(5000)));
        UnknownHookException e = org.junit.jupiter.api.Assertions.assertThrows(UnknownHookException.class, () -> points.matching(glob));
        assertFalse(e.getMessage().contains("\n"));
    }

    private static String random(SplittableRandom rnd, String alphabet, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        return b.toString();
    }
}
