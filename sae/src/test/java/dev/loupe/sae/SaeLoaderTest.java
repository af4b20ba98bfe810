package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.ReferenceBackend;
import dev.loupe.sae.io.NpzWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaeLoaderTest {
    @TempDir Path tmp;

    private static void writeSae(Path dir, int dIn, int dSae, long[] decShape, String encName) throws IOException {
        Files.createDirectories(dir);
        try (NpzWriter w = NpzWriter.create(dir.resolve("params.npz"))) {
            NpzWriter.Values ramp = (s, c, n) -> { for (int i = 0; i < n; i++) c[i] = ((s + i) % 7) * 0.1f - 0.3f; };
            w.add(encName, new long[]{dIn, dSae}, ramp);
            w.add(encName.startsWith("w") ? "w_dec" : "W_dec", decShape, ramp);
            w.add("b_enc", new long[]{dSae}, ramp);
            w.add("b_dec", new long[]{dIn}, ramp);
            w.add("threshold", new long[]{dSae}, (s, c, n) -> java.util.Arrays.fill(c, 0, n, 0.05f));
            w.finish();
        }
    }

    @Test void hookComesFromTheFolderAndCanBeOverridden() throws IOException {
        Path dir = tmp.resolve("gemma-scope-2b-pt-mlp/layer_4/width_16/average_l0_3");
        writeSae(dir, 8, 16, new long[]{16, 8}, "W_enc");
        try (Sae sae = Sae.load(dir, new ReferenceBackend())) {
            assertEquals("blocks.4.hook_mlp_out", sae.hookName());
            assertFalse(sae.encoderTransposed());
            assertEquals("blocks.1.hook_resid_post", sae.withHook("blocks.1.hook_resid_post").hookName());
        }
        try (Sae sae = Sae.load(dir.resolve("params.npz"), "blocks.0.hook_resid_pre", new ReferenceBackend())) {
            assertEquals("blocks.0.hook_resid_pre", sae.hookName());
        }
    }

    @Test void viewsShareTheFilesAndClosingIsIdempotent() throws IOException {
        Path dir = tmp.resolve("layer_3/width_16/v");
        writeSae(dir, 8, 16, new long[]{16, 8}, "W_enc");
        Sae sae = Sae.load(dir, new ReferenceBackend());
        Sae view = sae.withHook("blocks.0.hook_resid_post");
        assertEquals(16, view.encode(new float[8], 1).dSae());
        view.close();
        sae.close();
        view.close();
        assertThrows(IllegalStateException.class, () -> sae.encode(new float[8], 1), "unmapped weights fail cleanly");
    }

    @Test void lowercaseNamesAreAccepted() throws IOException {
        Path dir = tmp.resolve("layer_2/width_16/x");
        writeSae(dir, 8, 16, new long[]{16, 8}, "w_enc");
        try (Sae sae = Sae.load(dir, new ReferenceBackend())) {
            assertEquals(16, sae.dSae());
            assertEquals("blocks.2.hook_resid_post", sae.hookName());
        }
    }

    @Test void unknownHookIsAOneLineErrorOnlyWhenNeeded() throws IOException {
        Path dir = tmp.resolve("plain");
        writeSae(dir, 8, 16, new long[]{16, 8}, "W_enc");
        try (Sae sae = Sae.load(dir, new ReferenceBackend())) {
            assertFalse(sae.hasHookName());
            BadInputException e = assertThrows(BadInputException.class, sae::hookName, "the user must name the hook: wrong input, not a bug");
            assertTrue(e.getMessage().contains("plain") && !e.getMessage().contains("\n"), e.getMessage());
            assertEquals(16, sae.encode(new float[8], 1).dSae());
        }
    }

    @Test void shapeMismatchNamesFileAndArray() throws IOException {
        Path dir = tmp.resolve("bad");
        writeSae(dir, 8, 16, new long[]{16, 9}, "W_enc");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sae.load(dir, "hook_embed", new ReferenceBackend()));
        assertTrue(e.getMessage().contains("W_dec") && e.getMessage().contains("[16, 9]") && e.getMessage().contains("[16, 8]"), e.getMessage());
    }

    @Test void widthMismatchWithFolderName() throws IOException {
        Path dir = tmp.resolve("layer_1/width_16k/average_l0_5");
        writeSae(dir, 8, 16, new long[]{16, 8}, "W_enc");
        IOException e = assertThrows(IOException.class, () -> Sae.load(dir, new ReferenceBackend()));
        assertTrue(e.getMessage().contains("16384") && e.getMessage().contains("16 features"), e.getMessage());
    }

    @Test void missingArrayAndMissingFolder() throws IOException {
        Path dir = tmp.resolve("missing");
        Files.createDirectories(dir);
        try (NpzWriter w = NpzWriter.create(dir.resolve("params.npz"))) {
            w.add("W_enc", new long[]{2, 2}, (s, c, n) -> {});
            w.finish();
        }
        IOException e = assertThrows(IOException.class, () -> Sae.load(dir, "hook_embed", new ReferenceBackend()));
        assertTrue(e.getMessage().contains("W_dec"), e.getMessage());
        IOException none = assertThrows(IOException.class, () -> Sae.load(tmp.resolve("nope"), new ReferenceBackend()));
        assertTrue(none.getMessage().contains("nope"), none.getMessage());
        IOException empty = assertThrows(IOException.class, () -> Sae.load(tmp, new ReferenceBackend()));
        assertTrue(empty.getMessage().contains("params.npz"), empty.getMessage());
    }

    /** SAELens scales embedding SAEs: W_enc / sqrt(d_in) and W_dec · sqrt(d_in), b_dec unchanged. */
    @Test void embeddingSaesAreRescaled() throws IOException {
        Path emb = tmp.resolve("gemma-scope-2b-pt-res/embedding/width_16/average_l0_2");
        Path plain = tmp.resolve("gemma-scope-2b-pt-res/layer_0/width_16/average_l0_2");
        writeSae(emb, 16, 16, new long[]{16, 16}, "W_enc");
        writeSae(plain, 16, 16, new long[]{16, 16}, "W_enc");
        float[] x = new float[2 * 16];
        for (int i = 0; i < x.length; i++) x[i] = (i % 5) - 1.5f;
        try (Sae e = Sae.load(emb, new ReferenceBackend()); Sae p = Sae.load(plain, new ReferenceBackend())) {
            assertEquals("hook_embed", e.hookName());
            float[] preE = e.preActivations(x, 2), preP = p.preActivations(x, 2);
            float[] bEnc = p.bEnc();
            for (int i = 0; i < preE.length; i++) {
                float b = bEnc[i % 16];
                assertEquals((preP[i] - b) / 4f, preE[i] - b, 1e-5f);
            }
            float[] dirE = e.direction(3), dirP = p.direction(3);
            for (int i = 0; i < 16; i++) assertEquals(4f * dirP[i], dirE[i], 1e-6f);
            assertArrayEquals(p.bDec(), e.bDec());
        }
    }
}
