package dev.loupe.cli;

import dev.loupe.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a new user and a reliability probe saw from the command line: no-argument exit, help, file errors, damaged runs. */
class CliMessagesTest {
    @TempDir Path tmp;

    @Test void noArgumentsIsAnError() {
        Cli.Result r = Cli.run();
        assertEquals(2, r.exit(), "loupe with no command exits non-zero");
        assertTrue(r.err().startsWith("Usage: loupe"), r.err());
        assertEquals("", r.out());
    }

    @Test void topLevelHelpShowsAllOfIndex() {
        Cli.Result r = Cli.run("--help");
        assertEquals(0, r.exit());
        String flat = r.out().replaceAll("\\s+", " ");
        assertTrue(flat.contains("resumes after the last complete shard"), r.out());
    }

    /** picocli broke lines after a dot ("feature_acts. npy", "blocks.20. hook_resid_post"): help wraps at spaces only. */
    @Test void helpWrapsAtSpacesOnly() {
        assertTrue(Cli.run("--help").out().contains("feature_acts.npy"));
        String encode = Cli.run("encode", "--help").out();
        assertTrue(encode.contains("blocks.20.hook_resid_post"), encode);
        assertTrue(encode.contains("layer_20/width_16k/average_l0_71"), encode);
    }

    @Test void fileErrorsSayWhatIsWrong() {
        assertEquals("/x/run: already exists (a file where a folder or a new file was expected)",
                Errors.oneLine(new FileAlreadyExistsException("/x/run")));
        assertEquals("/x/run: is not a folder", Errors.oneLine(new NotDirectoryException("/x/run")));
    }

    /** index on a complete run with a deleted shard: one line naming the file, and nothing deleted. */
    @Test void aDamagedRunIsNamed() throws IOException {
        Path corpus = tmp.resolve("c.txt");
        Files.writeString(corpus, "the cat sat on the mat\nthe bridge opened in 1937\n");
        Path out = tmp.resolve("run");
        String[] args = {"index", "--model", Fixtures.file("tiny-a/tiny-a-f32.gguf").toString(), "--sae", Fixtures.file("tiny-a/sae").toString(),
                "--hook", "blocks.2.hook_resid_post", "--corpus", corpus.toString(), "--out", out.toString(), "--context", "16",
                "--no-logit-tables", "--quiet"};
        assertEquals(0, Cli.run(args).exit());
        Files.delete(out.resolve("features.arrow"));
        Cli.Result again = Cli.run(args);
        assertEquals(2, again.exit());
        assertTrue(again.err().startsWith("loupe index: " + out.resolve("features.arrow") + ": missing (run.json lists it)"), again.err());
        assertTrue(again.err().contains("nothing was changed or deleted"), again.err());
        assertEquals(1, again.err().strip().lines().count(), again.err());
        assertFalse(Files.exists(out.resolve("features.arrow")));
        Cli.Result features = Cli.run("features", "--run", out.toString(), "--list");
        assertEquals(2, features.exit());
        assertTrue(features.err().startsWith("loupe features: " + out.resolve("features.arrow") + ": missing"), features.err());
    }
}
