package dev.loupe.cli;

import dev.loupe.model.ModelConfig;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.weights.Checkpoints;
import dev.loupe.model.weights.ModelWeights;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SynthCommandTest {
    @TempDir Path tmp;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    private PrintStream oldOut, oldErr;

    @BeforeEach
    void capture() {
        oldOut = System.out;
        oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(oldOut);
        System.setErr(oldErr);
    }

    @Test
    void writesALoadableTinyModel() throws Exception {
        Path dir = tmp.resolve("tiny");
        assertEquals(0, Main.execute("synth", "--shape", "tiny", "--dtype", "f32", "--out", dir.toString(), "--seed", "3"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("wrote tiny f32 (seed 3)"), out.toString(StandardCharsets.UTF_8));
        try (ModelWeights w = Checkpoints.load(dir)) {
            assertEquals(ModelConfig.shape("tiny"), w.config());
            assertEquals(DType.F32, w.embedding().dtype());
        }
        byte[] first = Files.readAllBytes(dir.resolve("model.safetensors"));
        assertEquals(0, Main.execute("synth", "--shape", "tiny", "--dtype", "f32", "--out", dir.toString(), "--seed", "3"));
        assertArrayEquals(first, Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    /** --format gguf: one file holding the same weights as the folder, and no temporary folder left behind. */
    @Test
    void writesTheSameWeightsAsAGguf() throws Exception {
        Path dir = tmp.resolve("tiny"), gguf = tmp.resolve("tiny.gguf");
        assertEquals(0, Main.execute("synth", "--shape", "tiny", "--dtype", "bf16", "--out", dir.toString(), "--seed", "5"));
        assertEquals(0, Main.execute("synth", "--shape", "tiny", "--dtype", "bf16", "--format", "gguf", "--out", gguf.toString(), "--seed", "5"));
        try (var files = Files.list(tmp)) {
            assertEquals(2, files.count(), "only the folder and the .gguf");
        }
        try (ModelWeights a = Checkpoints.load(dir); ModelWeights b = Checkpoints.load(gguf)) {
            assertEquals(a.config().hiddenSize(), b.config().hiddenSize());
            assertArrayEquals(a.layers().get(2).up().toFloatArray(), b.layers().get(2).up().toFloatArray());
            assertArrayEquals(a.layers().get(1).postFeedforwardNorm(), b.layers().get(1).postFeedforwardNorm());
        }
        assertEquals(2, Main.execute("synth", "--shape", "tiny", "--format", "onnx", "--out", tmp.resolve("z").toString()));
        assertEquals(1, err.toString(StandardCharsets.UTF_8).strip().split("\n").length, err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badArgumentsGiveOneLineErrors() {
        assertEquals(2, Main.execute("synth", "--shape", "gemma-3-1b", "--out", tmp.resolve("x").toString()));
        assertEquals(2, Main.execute("synth", "--shape", "tiny", "--dtype", "q4_0", "--out", tmp.resolve("y").toString()));
        String[] lines = err.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals(2, lines.length, err.toString(StandardCharsets.UTF_8));
        assertTrue(lines[0].startsWith("loupe synth: unknown shape 'gemma-3-1b'"), lines[0]);
        assertTrue(lines[1].startsWith("loupe synth: --dtype q4_0"), lines[1]);
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
