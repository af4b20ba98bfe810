package dev.loupe.sae;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.sae.io.NpyArray;
import dev.loupe.sae.io.NpzFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds and loads an SAE from disk: a Gemma Scope folder ({@code params.npz}, or the npz itself), a Gemma Scope 2
 * folder ({@code params.safetensors} + {@code config.json}) or a SAELens folder ({@code cfg.json} + {@code sae_weights.safetensors}).
 */
final class SaeLoader {
    static final String GEMMA_SCOPE_FILE = "params.npz";
    static final String SAELENS_CONFIG = "cfg.json";
    static final String SAELENS_WEIGHTS = "sae_weights.safetensors";

    private SaeLoader() {}

    /** Loads from {@code path}; {@code hook} overrides the hook point the folder or config names (null: keep). */
    static Sae load(Path path, String hook, Backend backend) throws IOException {
        if (backend == null) throw new IllegalArgumentException("an SAE needs a compute backend");
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".npz")) {
            return loadGemmaScope(path, path.getParent() == null ? path : path.getParent(), hook, backend);
        }
        if (Files.exists(path) && !Files.isDirectory(path)) {
            throw new IOException(path + ": not an SAE folder or params.npz file (expected a Gemma Scope folder with params.npz or a SAELens folder with cfg.json)");
        }
        if (!Files.isDirectory(path)) {
            throw new IOException(path + ": no such SAE folder (expected a Gemma Scope folder with params.npz or a SAELens folder with cfg.json)");
        }
        if (Files.isRegularFile(path.resolve(GEMMA_SCOPE_FILE))) {
            return loadGemmaScope(path.resolve(GEMMA_SCOPE_FILE), path, hook, backend);
        }
        if (Files.isRegularFile(path.resolve(SAELENS_CONFIG))) {
            return SaeLensLoader.load(path, hook, backend);
        }
        if (GemmaScope2Loader.isGemmaScope2(path)) {
            return GemmaScope2Loader.load(path, hook, backend);
        }
        throw new IOException(path + ": not an SAE folder (no params.npz for Gemma Scope, no params.safetensors + config.json for"
                + " Gemma Scope 2, no cfg.json for SAELens)");
    }

    static Sae loadGemmaScope(Path npzPath, Path folder, String hook, Backend backend) throws IOException {
        NpzFile npz = NpzFile.open(npzPath);
        try {
            NpyArray wEnc = npz.array(pick(npz, "W_enc", "w_enc"));
            NpyArray wDec = npz.array(pick(npz, "W_dec", "w_dec"));
            long[] encShape = wEnc.header().shape();
            if (encShape.length != 2) {
                throw new IOException(wEnc.describe() + ": expected a matrix [d_model, d_sae], got shape " + wEnc.header());
            }
            if (encShape[0] < 1 || encShape[1] < 1 || encShape[0] > Integer.MAX_VALUE || encShape[1] > Integer.MAX_VALUE) {
                throw new IOException(wEnc.describe() + ": shape " + wEnc.header() + ", expected [d_model, d_sae] with both at least 1");
            }
            int dIn = (int) encShape[0];
            int dSae = (int) encShape[1];
            if (wDec.header().fortranOrder() && wDec.header().shape().length == 2) {
                throw new IOException(wDec.describe() + ": a Fortran-order W_dec is not supported (its rows would not be contiguous)");
            }
            WeightTensor enc = wEnc.asWeight();
            WeightTensor dec = wDec.asWeight();
            float[] bEnc = vector(npz.array(pick(npz, "b_enc")), dSae);
            float[] bDec = vector(npz.array(pick(npz, "b_dec")), dIn);
            float[] threshold = vector(npz.array(pick(npz, "threshold")), dSae);

            GemmaScopeLayout layout = GemmaScopeLayout.of(folder);
            if (layout.width().isPresent() && layout.width().getAsInt() != dSae) {
                throw new IOException(npzPath + ": folder says width " + layout.width().getAsInt() + " but W_enc has "
                        + dSae + " features");
            }
            String hookName = hook != null ? hook : layout.hook().orElse(null);
            SaeConfig cfg = SaeConfig.gemmaScope(hookName, dIn, dSae, layout.embedding(), folder.toString());
            return new Sae(cfg, enc, wEnc.header().fortranOrder(), dec, bEnc, bDec, threshold, backend, npz);
        } catch (IOException | RuntimeException e) {
            npz.close();
            throw e;
        }
    }

    private static String pick(NpzFile npz, String... names) throws IOException {
        for (String n : names) if (npz.contains(n)) return n;
        throw new IOException(npz.path() + ": no array '" + names[0] + "' (has " + String.join(", ", npz.names()) + ")");
    }

    /** A 1-D array copied to the heap (biases and thresholds are small). */
    static float[] vector(NpyArray a, long expected) throws IOException {
        long[] s = a.header().shape();
        if (s.length != 1 || s[0] != expected) {
            throw new IOException(a.describe() + ": shape " + a.header() + ", expected [" + expected + "]");
        }
        return a.asWeight().toFloatArray();
    }
}
