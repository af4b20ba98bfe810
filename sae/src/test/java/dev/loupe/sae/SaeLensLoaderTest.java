package dev.loupe.sae;

import dev.loupe.model.ReferenceBackend;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;
import dev.loupe.model.weights.SafetensorsWriter;
import dev.loupe.model.weights.SafetensorsWriter.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SAELens folders written with safetensors, checked against a direct double-precision transcription of
 * SAELens's forward pass ({@code process_sae_in}, {@code encode}, {@code decode}) written out below.
 */
class SaeLensLoaderTest {
    private static final int D = 12, F = 40, ROWS = 5;
    @TempDir Path tmp;

    private final float[] wEnc = values(D * F, 1), wDec = values(F * D, 2), bEnc = values(F, 3), bDec = values(D, 4);
    private final float[] x = values(ROWS * D, 5);

    private static float[] values(int n, int seed) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) Math.sin(i * 1.3 + seed * 7.1) * (seed == 5 ? 3 : 0.6f);
        return v;
    }

    private Path write(String name, String cfg, DType dtype, Map<String, float[]> extra) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cfg.json"), cfg);
        List<Tensor> t = new ArrayList<>(List.of(
                Tensor.ofFloats("W_enc", dtype, new long[]{D, F}, wEnc),
                Tensor.ofFloats("W_dec", dtype, new long[]{F, D}, wDec),
                Tensor.ofFloats("b_enc", DType.F32, new long[]{F}, bEnc),
                Tensor.ofFloats("b_dec", DType.F32, new long[]{D}, bDec)));
        extra.forEach((k, v) -> t.add(Tensor.ofFloats(k, DType.F32, new long[]{v.length}, v)));
        SafetensorsWriter.write(dir.resolve("sae_weights.safetensors"), Map.of(), t, 1);
        return dir;
    }

    /** SAELens's inference forward pass, transcribed: returns {acts [ROWS·F], recon [ROWS·D]}. */
    private double[][] reference(String arch, int k, boolean applyBDec, String norm, float[] threshold, DType dtype, boolean rescale) {
        double[] we = new double[wEnc.length], wd = new double[wDec.length];
        for (int i = 0; i < we.length; i++) we[i] = round(wEnc[i], dtype);
        for (int i = 0; i < wd.length; i++) wd[i] = round(wDec[i], dtype);
        double[] acts = new double[ROWS * F], recon = new double[ROWS * D];
        for (int r = 0; r < ROWS; r++) {
            double[] in = new double[D];
            for (int i = 0; i < D; i++) in[i] = x[r * D + i];
            double mu = 0, std = 1, coeff = 1;
            if (norm.equals("constant_norm_rescale")) {
                double n2 = 0;
                for (double v : in) n2 += v * v;
                coeff = Math.sqrt(D) / Math.sqrt(n2);
                for (int i = 0; i < D; i++) in[i] *= coeff;
            } else if (norm.equals("layer_norm")) {
                for (double v : in) mu += v / D;
                double ss = 0;
                for (int i = 0; i < D; i++) { in[i] -= mu; ss += in[i] * in[i]; }
                std = Math.sqrt(ss / (D - 1));
                for (int i = 0; i < D; i++) in[i] /= (std + 1e-5);
            }
            if (applyBDec) for (int i = 0; i < D; i++) in[i] -= bDec[i];
            double[] pre = new double[F];
            for (int f = 0; f < F; f++) {
                double s = bEnc[f];
                for (int i = 0; i < D; i++) s += in[i] * we[i * F + f];
                pre[f] = s;
            }
            double[] norms = new double[F];
            for (int f = 0; f < F; f++) {
                double s = 0;
                for (int i = 0; i < D; i++) s += wd[f * D + i] * wd[f * D + i];
                norms[f] = Math.sqrt(s);
            }
            double[] a = new double[F];
            switch (arch) {
                case "standard" -> { for (int f = 0; f < F; f++) a[f] = Math.max(0, pre[f]); }
                case "jumprelu" -> { for (int f = 0; f < F; f++) a[f] = pre[f] > threshold[f] ? Math.max(0, pre[f]) : 0; }
                case "topk" -> {
                    double[] ranked = pre.clone();
                    if (rescale) for (int f = 0; f < F; f++) ranked[f] *= norms[f];
                    Integer[] order = new Integer[F];
                    for (int f = 0; f < F; f++) order[f] = f;
                    Arrays.sort(order, (p, q) -> Double.compare(ranked[q], ranked[p]));
                    for (int j = 0; j < k; j++) a[order[j]] = Math.max(0, ranked[order[j]]);
                }
                default -> throw new AssertionError(arch);
            }
            System.arraycopy(a, 0, acts, r * F, F);
            for (int i = 0; i < D; i++) {
                double s = bDec[i];
                for (int f = 0; f < F; f++) s += (rescale ? a[f] / norms[f] : a[f]) * wd[f * D + i];
                if (norm.equals("constant_norm_rescale")) s /= coeff;
                if (norm.equals("layer_norm")) s = s * std + mu;
                recon[r * D + i] = s;
            }
        }
        return new double[][]{acts, recon};
    }

    private static double round(float v, DType t) {
        return t == DType.BF16 ? Floats.bf16ToFloat(Floats.floatToBf16(v)) : v;
    }

    private void check(Path dir, double[][] ref, String hook) throws IOException {
        try (Sae sae = Sae.load(dir, new ReferenceBackend())) {
            assertEquals(hook, sae.hookName());
            SparseFeatures f = sae.encode(x, ROWS);
            float[] dense = f.dense();
            for (int i = 0; i < dense.length; i++) {
                assertEquals(ref[0][i] > 0, dense[i] > 0, "active set at " + i);
                assertEquals(ref[0][i], dense[i], 1e-4, "act " + i);
            }
            float[] recon = sae.decode(f);
            for (int i = 0; i < recon.length; i++) assertEquals(ref[1][i], recon[i], 1e-4, "recon " + i);
        }
    }

    @Test void standardWithBDecSubtraction() throws IOException {
        Path dir = write("std", """
                {"d_in": 12, "d_sae": 40, "architecture": "standard", "apply_b_dec_to_input": true,
                 "normalize_activations": "none", "metadata": {"hook_name": "blocks.1.hook_resid_pre", "sae_lens_version": "6.0.0"}}""",
                DType.F32, Map.of());
        check(dir, reference("standard", 0, true, "none", null, DType.F32, false), "blocks.1.hook_resid_pre");
    }

    @Test void topKWithDecoderNormRescalingInBf16() throws IOException {
        Path dir = write("topk", """
                {"d_in": 12, "d_sae": 40, "architecture": "topk", "k": 4, "apply_b_dec_to_input": false,
                 "rescale_acts_by_decoder_norm": true, "metadata": {"hook_name": "blocks.0.hook_mlp_out"}}""",
                DType.BF16, Map.of());
        double[][] ref = reference("topk", 4, false, "none", null, DType.BF16, true);
        check(dir, ref, "blocks.0.hook_mlp_out");
        try (Sae sae = Sae.load(dir, new ReferenceBackend())) {
            for (int l : sae.encode(x, ROWS).l0()) assertTrue(l <= 4);
        }
    }

    @Test void legacyJumpReluWithLogThresholdAndLayerNorm() throws IOException {
        float[] thr = new float[F], logThr = new float[F];
        for (int f = 0; f < F; f++) { thr[f] = 0.05f + 0.01f * (f % 5); logThr[f] = (float) Math.log(thr[f]); }
        float[] expThr = new float[F];
        for (int f = 0; f < F; f++) expThr[f] = (float) Math.exp(logThr[f]);
        Path dir = write("jr", """
                {"d_in": 12, "d_sae": 40, "architecture": "jumprelu", "hook_point": "blocks.3.hook_resid_post",
                 "normalize_activations": "layer_norm"}""", DType.F32, Map.of("log_threshold", logThr));
        check(dir, reference("jumprelu", 0, true, "layer_norm", expThr, DType.F32, false), "blocks.3.hook_resid_post");
    }

    @Test void constantNormRescaleRoundTrip() throws IOException {
        Path dir = write("cnr", """
                {"d_in": 12, "d_sae": 40, "architecture": "standard", "hook_name": "blocks.2.hook_resid_post",
                 "normalize_activations": "constant_norm_rescale"}""", DType.F32, Map.of());
        check(dir, reference("standard", 0, true, "constant_norm_rescale", null, DType.F32, false), "blocks.2.hook_resid_post");
    }

    /** SAELens folds expected_average_only_in's factor s: the SAE computes on s·x and returns recon / s. */
    @Test void expectedAverageFactorIsFolded() throws IOException {
        Path plain = write("plain", """
                {"d_in": 12, "d_sae": 40, "architecture": "standard", "hook_name": "h", "apply_b_dec_to_input": false}""",
                DType.F32, Map.of());
        Path scaled = write("scaled", """
                {"d_in": 12, "d_sae": 40, "architecture": "standard", "hook_name": "h", "apply_b_dec_to_input": false,
                 "normalize_activations": "expected_average_only_in", "norm_scaling_factor": 2.0}""", DType.F32, Map.of());
        float[] x2 = x.clone();
        for (int i = 0; i < x2.length; i++) x2[i] *= 2;
        try (Sae p = Sae.load(plain, new ReferenceBackend()); Sae s = Sae.load(scaled, new ReferenceBackend())) {
            assertArrayEquals(p.encode(x2, ROWS).dense(), s.encode(x, ROWS).dense(), 1e-5f);
            float[] rp = p.reconstruct(x2, ROWS), rs = s.reconstruct(x, ROWS);
            for (int i = 0; i < rp.length; i++) assertEquals(rp[i] / 2, rs[i], 1e-5f);
        }
    }

    @Test void mismatchesAreOneLineErrors() throws IOException {
        Path dir = write("bad", """
                {"d_in": 13, "d_sae": 40, "architecture": "standard", "hook_name": "h"}""", DType.F32, Map.of());
        Exception e = assertThrows(Exception.class, () -> Sae.load(dir, new ReferenceBackend()));
        assertTrue(e.getMessage().contains("b_dec") || e.getMessage().contains("W_enc"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
        Path noThr = write("nothr", """
                {"d_in": 12, "d_sae": 40, "architecture": "jumprelu", "hook_name": "h"}""", DType.F32, Map.of());
        IOException t = assertThrows(IOException.class, () -> Sae.load(noThr, new ReferenceBackend()));
        assertTrue(t.getMessage().contains("threshold"), t.getMessage());
        Path noWeights = tmp.resolve("empty");
        Files.createDirectories(noWeights);
        Files.writeString(noWeights.resolve("cfg.json"), "{\"d_in\": 12, \"d_sae\": 40}");
        IOException w = assertThrows(IOException.class, () -> Sae.load(noWeights, new ReferenceBackend()));
        assertTrue(w.getMessage().contains("sae_weights.safetensors"), w.getMessage());
    }
}
