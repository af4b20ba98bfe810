package dev.loupe.cli;

import dev.loupe.model.Fixtures;
import dev.loupe.model.tokenizer.SmallTokenizerJson;
import dev.loupe.sae.io.NpzWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Issue 7 §6: every bad input a user can type gives one line and a non-zero exit, before any compute. */
class BadInputTest {
    private static final String HOOK = "blocks.2.hook_resid_post";
    @TempDir Path dir;

    private static String hf() { return Fixtures.file("tiny-a/hf").toString(); }
    private static String gguf() { return Fixtures.file("tiny-a/tiny-a-f32.gguf").toString(); }
    private static String sae() { return Fixtures.file("tiny-a/sae").toString(); }

    /** One line on stderr containing every fragment, no stack trace, a non-zero exit. */
    static String assertOneLine(Cli.Result r, String... fragments) {
        assertNotEquals(0, r.exit(), "exit code; stdout: " + r.out() + " stderr: " + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertFalse(err.contains("\tat ") || err.contains("Exception in") || err.contains("Caused by"), err);
        for (String f : fragments) assertTrue(err.contains(f), "lacks '" + f + "': " + err);
        return err;
    }

    // ---- JVM errors -----------------------------------------------------------------------------------

    @CommandLine.Command(name = "boom")
    static final class Boom implements Callable<Integer> {
        private final Throwable error;
        Boom(Throwable error) { this.error = error; }
        @Override public Integer call() throws Exception {
            if (error instanceof Error e) throw e;
            throw (Exception) error;
        }
    }

    private static Cli.Result runThrowing(Throwable t) {
        return Cli.capture(() -> {
            CommandLine cl = new CommandLine(new Main());
            cl.addSubcommand("boom", new Boom(t));
            return Main.execute(cl, "boom");
        });
    }

    @Test void jvmErrorsGiveOneLine() {
        assertOneLine(runThrowing(new OutOfMemoryError("Java heap space")), "loupe boom: out of memory", "Java heap space");
        assertOneLine(runThrowing(new StackOverflowError()), "loupe boom:", "nested too deeply");
        assertOneLine(runThrowing(new InternalError("a fault occurred in an unsafe memory access operation")),
                "loupe boom:", "truncated or replaced");
        // A bug is said to be one, with the way to get its stack trace.
        String bug = assertOneLine(runThrowing(new AssertionError("x")), "loupe boom: internal error: AssertionError: x", "report", "-Dloupe.trace=true");
        assertFalse(bug.contains("\tat "), bug);
    }

    @Test void wrongInputExitsTwoAndABugOne() {
        Cli.Result bad = runThrowing(dev.loupe.errors.BadInputException.of("--width", "must be at least 1, got 0"));
        assertEquals(2, bad.exit());
        assertEquals("loupe boom: --width: must be at least 1, got 0", bad.err().strip());
        Cli.Result bug = runThrowing(new NullPointerException("Cannot invoke \"String.strip()\" because \"s\" is null"));
        assertEquals(1, bug.exit());
        assertOneLine(bug, "loupe boom: internal error: NullPointerException", "a bug in Loupe");
        Cli.Result plain = runThrowing(new IllegalArgumentException("index -1"));
        assertOneLine(plain, "loupe boom: internal error: IllegalArgumentException: index -1");
        Cli.Result io = runThrowing(new java.nio.file.NoSuchFileException("/data/x.gguf"));
        assertEquals(1, io.exit());
        assertEquals("loupe boom: no such file: /data/x.gguf", io.err().strip(), "a file problem is not a bug");
    }

    /** A command whose library names its {@code --seq-len} {@code seqLen} and its {@code --lr} {@code learningRate}. */
    @CommandLine.Command(name = "train")
    static final class Train implements Callable<Integer>, dev.loupe.analysis.flags.Flags.Named {
        @CommandLine.Option(names = "--seq-len") int seqLen;
        @CommandLine.Option(names = "--lr") float lr;
        private final String parameter;
        Train(String parameter) { this.parameter = parameter; }
        @Override public java.util.Map<String, String> flagNames() { return java.util.Map.of("learningRate", "--lr"); }
        @Override public Integer call() { throw dev.loupe.errors.BadInputException.of(parameter, "must be positive"); }
    }

    private static String trained(String parameter) {
        return Cli.capture(() -> {
            CommandLine cl = new CommandLine(new Main());
            cl.addSubcommand("train", new Train(parameter));
            return Main.execute(cl, "train");
        }).err().strip();
    }

    @Test void libraryParametersAreSaidAsTheFlagsTyped() {
        assertEquals("loupe train: --seq-len: must be positive", trained("seqLen"), "found among the options in kebab case");
        assertEquals("loupe train: --lr: must be positive", trained("learningRate"), "named by the command");
        assertEquals("loupe train: heldOut: must be positive", trained("heldOut"), "no such flag: the library's name");
    }

    @Test void aMappedFileFaultNamesTheModel() {
        var fault = new InternalError("a fault occurred in an unsafe memory access operation");
        String line = Errors.oneLine(fault, List.of(Path.of("/models/gemma.gguf")));
        assertTrue(line.contains("/models/gemma.gguf") && line.contains("truncated or replaced"), line);
    }

    // ---- options --------------------------------------------------------------------------------------

    @Test void badPicocliValuesGiveOneLineAndAHelpHint() {
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2", "--stop-after", "abc"), "loupe run:", "--stop-after", "'loupe run --help'");
        assertOneLine(Cli.run("bench", "--model", hf(), "--bogus"), "loupe bench:", "--bogus", "--help");
        assertTrue(assertOneLine(Cli.run("--bogus"), "--bogus").startsWith("loupe: "));
        assertOneLine(Cli.run("rnu", "--model", hf()), "loupe: ", "rnu", "'loupe --help'");
        assertOneLine(Cli.run("generate", "--model", hf()), "loupe generate:", "--prompt", "--help");
        assertOneLine(Cli.run("steer", "--model", gguf(), "--sae", sae(), "--feature", "1", "--strength", "1", "--prompt", "a", "--mode", "shove"),
                "--mode", "--help");
    }

    @Test void nonFiniteStrengthsAreRefused() {
        for (String s : new String[]{"NaN", "Infinity", "-Infinity"}) {
            assertOneLine(Cli.run("steer", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--feature", "3", "--strength", s,
                    "--prompt", "hello"), "--strength", "finite");
        }
        assertOneLine(Cli.run("steer", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--feature", "3", "--strength", "1e30",
                "--max-act", "1e30", "--prompt", "hello"), "overflows");
    }

    @Test void badDraftOptionsGiveOneLine() {
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--draft-tokens", "3"), "--draft-tokens", "--draft-model");
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--draft-model", gguf(), "--draft-tokens", "0"), "--draft-tokens");
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--draft-model", "/nonexistent/draft.gguf"), "draft.gguf");
    }

    @Test void nanTemperatureIsRefused() {
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--temperature", "NaN"), "temperature", "NaN");
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--temperature", "Infinity"), "temperature");
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--top-p", "NaN"), "top-p");
    }

    @Test void maxTokensIsBoundedByTheContext() {
        assertOneLine(Cli.run("generate", "--model", gguf(), "--prompt", "hi", "--max-tokens", "2000000000"),
                "--max-tokens 2000000000", "context of 8192");
    }

    @Test void stopAfterMustBeALayerAndCachedHooksMustComeBeforeIt() {
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--stop-after", "-1"), "--stop-after -1");
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--stop-after", "4"), "stop-after layer 4", "4 layers");
        Path out = dir.resolve("c");
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--stop-after", "1", "--cache", "blocks.3.hook_resid_post",
                "--cache-dir", out.toString()), "blocks.3.hook_resid_post", "layer 3", "stops after layer 1");
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--stop-after", "1", "--cache", "ln_final.hook_normalized",
                "--cache-dir", out.toString()), "ln_final");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test void benchCountsMustBePositive() {
        assertOneLine(Cli.run("bench", "--model", hf(), "--gen-tokens", "-1"), "--gen-tokens", "-1");
        assertOneLine(Cli.run("bench", "--model", hf(), "--gen-tokens", "0"), "--gen-tokens");
        assertOneLine(Cli.run("bench", "--model", hf(), "--repetitions", "0"), "--repetitions");
        assertOneLine(Cli.run("bench", "--model", hf(), "--prompt-tokens", "0"), "--prompt-tokens");
        assertOneLine(Cli.run("bench", "--model", hf(), "--prompt-tokens", "8190", "--gen-tokens", "10"), "context of 8192");
    }

    @Test void outputsThatCannotBeWrittenFailBeforeTheModelRuns() throws IOException {
        Path file = Files.writeString(dir.resolve("afile"), "x");
        String bad = file.resolve("out.npy").toString();
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--logits", bad), "--logits", file + " is a file, not a folder");
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--cache", HOOK, "--cache-dir", file.resolve("c").toString()),
                "--cache-dir", "is a file");
        assertOneLine(Cli.run("encode", "--model", hf(), "--sae", sae(), "--hook", HOOK, "--token-ids", "2,3", "--out", bad), "--out", "is a file");
        assertOneLine(Cli.run("synth", "--shape", "tiny", "--out", file.toString()), "--out", "is a file");
        assertOneLine(Cli.run("synth-sae", "--d-model", "8", "--width", "16", "--out", bad), "--out", "is a file");
    }

    @Test void emptyOrFolderLogitsPathsLeaveNoPartialFiles() throws IOException {
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--logits", ""), "--logits", "empty path");
        assertFalse(Files.exists(Path.of(".partial")));
        Path folder = Files.createDirectories(dir.resolve("existing"));
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--logits", folder.toString()), "--logits", "is a folder");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.toString().endsWith(".partial")).toList());
        }
        assertTrue(Files.isDirectory(folder));
    }

    // ---- hangs ----------------------------------------------------------------------------------------

    private Path fifo(String name) throws IOException, InterruptedException {
        Path p = dir.resolve(name);
        Process mk = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assumeTrue(mk.waitFor() == 0, "mkfifo unavailable");
        return p;
    }

    @Test @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void fifosAreRefusedInsteadOfBlocking() throws Exception {
        assertOneLine(Cli.run("run", "--model", fifo("model.gguf").toString(), "--token-ids", "2"), "model.gguf", "not a regular file");
        Path corpus = fifo("corpus.txt");
        assertOneLine(Cli.run("eval-sae", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", corpus.toString()),
                "--corpus", "not a regular file");
        assertOneLine(Cli.run("tokenize", "--tokenizer", fifo("tokenizer.json").toString(), "--jsonl", corpus.toString()), "not a regular file");
    }

    @Test @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aHugeGlobDoesNotHang() {
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--cache", "*".repeat(16) + "Z"), "unknown hook point");
        assertOneLine(Cli.run("run", "--model", hf(), "--token-ids", "2,3", "--cache", "*a".repeat(50_000) + "Z"), "unknown hook point");
    }

    @Test void syntheticOutputsThatCannotFitOnTheDiskAreRefusedUpFront() throws IOException {
        long free = Files.getFileStore(dir).getUsableSpace();
        long width = free / (8L * 65536) + 1000;
        assumeTrue(width < Integer.MAX_VALUE);
        Path out = dir.resolve("sae");
        assertOneLine(Cli.run("synth-sae", "--d-model", "65536", "--width", Long.toString(width), "--out", out.toString()),
                "params.npz", "GB are free");
        assertFalse(Files.exists(out));
        assumeTrue(free < 27_000_000_000L * 4, "the disk could hold a float32 gemma-2-27b");
        assertOneLine(Cli.run("synth", "--shape", "gemma-2-27b", "--dtype", "f32", "--out", dir.resolve("m").toString()), "GB are free");
        assertFalse(Files.exists(dir.resolve("m")));
    }

    // ---- unclear messages ------------------------------------------------------------------------------

    /** eval-sae and synth-sae read corpora as index does (Corpus: .txt, .jsonl or a folder of them). */
    @Test void binaryOrFolderCorporaAreNamed() throws IOException {
        Path binText = dir.resolve("corpus.txt");
        Files.write(binText, new byte[]{'o', 'k', '\n', (byte) 0xff, (byte) 0xfe, 0, 1, 2});
        assertOneLine(Cli.run("eval-sae", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", binText.toString()),
                "--corpus", "corpus.txt", "not valid UTF-8");
        assertOneLine(Cli.run("synth-sae", "--fit-model", gguf(), "--fit-corpus", binText.toString(), "--hook", HOOK, "--width", "8", "--l0", "2",
                "--out", dir.resolve("fit").toString()), "--fit-corpus", "not valid UTF-8");
        Path bin = Files.write(dir.resolve("corpus.bin"), new byte[]{'o', 'k', '\n', (byte) 0xff, (byte) 0xfe, 0, 1, 2});
        assertOneLine(Cli.run("eval-sae", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", bin.toString()),
                "--corpus", "corpus.bin", "must be a .txt or .jsonl file");
        Path empty = Files.createDirectories(dir.resolve("empty-corpus"));
        assertOneLine(Cli.run("eval-sae", "--model", gguf(), "--sae", sae(), "--hook", HOOK, "--corpus", empty.toString()),
                "--corpus", "folder holds no .txt or .jsonl files");
        Path tok = Files.writeString(dir.resolve("tokenizer.json"), SmallTokenizerJson.TEXT);
        assertOneLine(Cli.run("tokenize", "--tokenizer", tok.toString(), "--jsonl", bin.toString()), "corpus.bin", "UTF-8");
        assertOneLine(Cli.run("tokenize", "--tokenizer", tok.toString(), "--jsonl", dir.toString()), "--jsonl", "is a folder");
    }

    /** 100k levels of nesting: Jackson's nesting limit, reported with the file's name. */
    @Test void deeplyNestedJsonNamesTheFile() throws IOException {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        Path model = dir.resolve("model");
        Files.createDirectories(model);
        Files.copy(Fixtures.file("tiny-a/hf/model.safetensors"), model.resolve("model.safetensors"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"gemma2\", \"x\": " + deep + "}");
        assertOneLine(Cli.run("run", "--model", model.toString(), "--token-ids", "2"), "config.json", "nesting");

        Path saeLens = Files.createDirectories(dir.resolve("saelens"));
        Files.writeString(saeLens.resolve("cfg.json"), "{\"d_in\": 64, \"x\": " + deep + "}");
        assertOneLine(Cli.run("encode", "--model", hf(), "--sae", saeLens.toString(), "--token-ids", "2", "--out", dir.resolve("o").toString()),
                "cfg.json", "nesting");

        Path tok = Files.writeString(dir.resolve("tokenizer.json"), SmallTokenizerJson.TEXT.replace("\"version\": \"1.0\"", "\"version\": " + deep));
        Path jsonl = Files.writeString(dir.resolve("in.jsonl"), "{\"text\": \"a\"}\n");
        assertOneLine(Cli.run("tokenize", "--tokenizer", tok.toString(), "--jsonl", jsonl.toString()), "tokenizer.json", "nesting");

        Files.writeString(tok, SmallTokenizerJson.TEXT);
        Files.writeString(jsonl, "{\"text\": \"a\", \"x\": " + deep + "}\n");
        assertOneLine(Cli.run("tokenize", "--tokenizer", tok.toString(), "--jsonl", jsonl.toString()), "in.jsonl line 1", "nesting");
    }

    @Test void anSaeOfWidthZeroIsNamed() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("layer_2/width_0k/average_l0_1"));
        try (NpzWriter w = NpzWriter.create(folder.resolve("params.npz"))) {
            w.add("W_enc", new long[]{64, 0}, (s, c, n) -> {});
            w.add("W_dec", new long[]{0, 64}, (s, c, n) -> {});
            w.add("b_enc", new long[]{0}, (s, c, n) -> {});
            w.add("b_dec", new long[]{64}, (s, c, n) -> java.util.Arrays.fill(c, 0, n, 0f));
            w.add("threshold", new long[]{0}, (s, c, n) -> {});
            w.finish();
        }
        assertOneLine(Cli.run("encode", "--model", hf(), "--sae", folder.toString(), "--hook", HOOK, "--token-ids", "2,3",
                "--out", dir.resolve("o").toString()), "W_enc", "[64, 0]", "at least 1");
    }

    @Test void configNonsenseIsNamed() throws IOException {
        Path model = Files.createDirectories(dir.resolve("m"));
        Files.copy(Fixtures.file("tiny-a/hf/model.safetensors"), model.resolve("model.safetensors"));
        String config = Files.readString(Fixtures.file("tiny-a/hf/config.json"));
        Files.writeString(model.resolve("config.json"), config.replaceFirst("\"rms_norm_eps\":\\s*[^,}]+", "\"rms_norm_eps\": -1"));
        assertOneLine(Cli.run("run", "--model", model.toString(), "--token-ids", "2,3"), "config.json", "rms_norm_eps", "positive");
    }

    @Test void binaryConfigIsNamed() throws IOException {
        Path model = Files.createDirectories(dir.resolve("m"));
        Files.copy(Fixtures.file("tiny-a/hf/model.safetensors"), model.resolve("model.safetensors"));
        Files.write(model.resolve("config.json"), new byte[]{'{', (byte) 0xc3, (byte) 0x28, '}'});
        assertOneLine(Cli.run("run", "--model", model.toString(), "--token-ids", "2,3"), "config.json");
    }

    static String utf8(byte[] b) { return new String(b, StandardCharsets.UTF_8); }
}
