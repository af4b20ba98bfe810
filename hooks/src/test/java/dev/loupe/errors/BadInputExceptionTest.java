package dev.loupe.errors;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BadInputExceptionTest {
    @Test void aNamedParameterLeadsTheMessage() {
        var e = BadInputException.of("tokens", "expected ids separated by commas, got 'x'");
        assertEquals("tokens: expected ids separated by commas, got 'x'", e.getMessage());
        assertEquals("tokens", e.parameter());
        assertEquals("expected ids separated by commas, got 'x'", e.problem());
    }

    @Test void aPlainMessageHasNoParameter() {
        var e = new BadInputException("/data/run: not a corpus run (no run.json)");
        assertNull(e.parameter());
        assertEquals(e.getMessage(), e.problem());
    }

    @Test void renamingKeepsTheProblemAndTheOrigin() {
        var e = BadInputException.of("tokens", "empty");
        var flag = e.renamed("--token-ids");
        assertEquals("--token-ids: empty", flag.getMessage());
        assertEquals("--token-ids", flag.parameter());
        assertSame(e, flag.getCause());
    }

    @Test void existingCatchSitesStillSeeIt() {
        IllegalArgumentException e = BadInputException.of("layer", "expected 0..3, got 9");
        assertEquals("layer: expected 0..3, got 9", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BadInputException.of(" ", "x"));
    }
}
