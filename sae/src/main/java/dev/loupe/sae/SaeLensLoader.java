package dev.loupe.sae;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.model.weights.SafetensorsFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Loads a SAELens folder: {@code cfg.json} + {@code sae_weights.safetensors} ({@code W_enc [d_in, d_sae]},
 * {@code W_dec [d_sae, d_in]}, {@code b_enc}, {@code b_dec}, and for JumpReLU {@code threshold} or the training
 * form {@code log_threshold}). Weights stay memory-mapped in their stored precision.
 */
final class SaeLensLoader {
    private SaeLensLoader() {}

    static Sae load(Path dir, String hook, Backend backend) throws IOException {
        SaeLensConfig cfg = SaeLensConfig.read(dir.resolve(SaeLoader.SAELENS_CONFIG));
        Path weights = dir.resolve(SaeLoader.SAELENS_WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new IOException(dir + ": SAELens folder without " + SaeLoader.SAELENS_WEIGHTS);
        }
        SafetensorsFile st = SafetensorsFile.open(weights);
        try {
            for (String unsupported : new String[]{"scaling_factor", "finetuning_scaling_factor"}) {
                if (st.has(unsupported) && !allOnes(st.tensor(unsupported))) {
                    throw new IOException(weights + ": " + unsupported + " (finetuning scaling) is not supported");
                }
            }
            WeightTensor enc = st.tensor("W_enc");
            WeightTensor dec = st.tensor("W_dec");
            float[] bEnc = vector(st, "b_enc", cfg.dSae());
            float[] bDec = vector(st, "b_dec", cfg.dIn());
            float[] threshold = null;
            if (cfg.architecture() == SaeArchitecture.JUMPRELU) {
                if (st.has("threshold")) {
                    threshold = vector(st, "threshold", cfg.dSae());
                } else if (st.has("log_threshold")) {
                    threshold = vector(st, "log_threshold", cfg.dSae());
                    for (int i = 0; i < threshold.length; i++) threshold[i] = (float) Math.exp(threshold[i]);
                } else {
                    throw new IOException(weights + ": a jumprelu SAE needs a 'threshold' (or 'log_threshold') tensor");
                }
            }
            return new Sae(cfg.toConfig(hook, dir.toString()), enc, false, dec, bEnc, bDec, threshold, backend, st);
        } catch (IOException | RuntimeException e) {
            st.close();
            throw e;
        }
    }

    private static float[] vector(SafetensorsFile st, String name, int n) throws IOException {
        WeightTensor t = st.tensor(name);
        if (!Arrays.equals(t.shape(), new long[]{n})) {
            throw new IOException(t.describe() + ": shape " + Arrays.toString(t.shape()) + ", expected [" + n + "]");
        }
        return t.toFloatArray();
    }

    private static boolean allOnes(WeightTensor t) {
        for (float v : t.toFloatArray()) if (v != 1f) return false;
        return true;
    }
}
