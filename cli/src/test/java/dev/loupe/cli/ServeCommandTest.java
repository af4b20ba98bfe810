package dev.loupe.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code loupe serve} refuses bad options with one line before binding anything (serving is tested in web). */
class ServeCommandTest {
    private static void oneLine(Cli.Result r, String part) {
        assertEquals(2, r.exit(), r.err());
        String err = r.err().strip();
        assertFalse(err.contains("\n") || err.contains("\tat "), "one line, no stack trace: " + err);
        assertTrue(err.contains(part), "mentions '" + part + "': " + err);
    }

    @Test
    void badOptionsGetOneLine(@TempDir Path dir) {
        oneLine(Cli.run("serve", "--run", dir.resolve("missing").toString()), "no such folder");
        oneLine(Cli.run("serve", "--run", dir.toString()), "no run.json");
        oneLine(Cli.run("serve", "--run", dir.toString(), "--parallel", "3"), "--parallel");
        oneLine(Cli.run("serve", "--run", dir.toString(), "--timeout", "0"), "--timeout");
        oneLine(Cli.run("serve", "--run", dir.toString(), "--port", "70000"), "--port");
        oneLine(Cli.run("serve", "--run", dir.toString(), "--body-timeout", "0"), "--body-timeout");
        oneLine(Cli.run("serve", "--run", dir.toString(), "--max-client-connections", "0"), "--max-client-connections");
        assertEquals(2, Cli.run("serve").exit(), "--run is required");
    }
}
