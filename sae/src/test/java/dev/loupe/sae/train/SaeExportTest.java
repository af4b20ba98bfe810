package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeArchitecture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A trained SAE written in SAELens's layout (and Gemma Scope's) and loaded back by Loupe's loader computes what
 * the trained parameters define, computed here in double from them: {@code pre = (s·x − b_dec)·W_enc + b_enc} on
 * the training scale {@code s}, the architecture's activation, and {@code x̂ = (f·W_dec + b_dec)/s}.
 */
class SaeExportTest {
    static Backend backend;
    @TempDir Path dir;

    @BeforeAll static void open() { backend = Backends.byName(Backends.CPU, 1); }

    @AfterAll static void close() { backend.close(); }

    static Stream<Object[]> cases() {
        return Stream.of(new Object[]{new Sparsity.JumpRelu(3, 0.05f), "saelens"}, new Object[]{new Sparsity.JumpRelu(3, 0.05f), "gemma-scope"},
                new Object[]{new Sparsity.TopK(3), "saelens"}, new Object[]{new Sparsity.BatchTopK(3), "saelens"},
                new Object[]{new Sparsity.Standard(1f), "saelens"});
    }

    @ParameterizedTest @MethodSource("cases")
    void loadsBackWhatWasTrained(Sparsity sparsity, String format) throws Exception {
        PlantedFeatures data = new PlantedFeatures(16, 24, 3, 11);
        TrainOptions o = TrainOptions.defaults(sparsity, 32, 20_000).withBatchSize(256).withLearningRate(3e-3f);
        SaeTrainer.Result r = new SaeTrainer(o, data, backend, null).run(null);
        SaeExport.Format fmt = format.equals("saelens") ? new SaeExport.Format.SaeLens() : new SaeExport.Format.GemmaScope();
        SaeExport.write(dir, r, new SaeExport.Provenance("blocks.0.hook_resid_post", "planted", 128, "synthetic"), fmt);
        if (format.equals("saelens")) {
            assertTrue(Files.isRegularFile(dir.resolve("cfg.json")) && Files.isRegularFile(dir.resolve("sparsity.safetensors")));
        } else {
            assertTrue(Files.isRegularFile(dir.resolve("params.npz")));
        }

        int rows = 20, d = 16, w = 32;
        float[] x = new float[rows * d];
        data.seek(1_000_000);
        data.read(x, 0, rows);
        try (Sae sae = Sae.load(dir, "blocks.0.hook_resid_post", backend)) {
            SaeArchitecture expectedArch = sparsity instanceof Sparsity.TopK ? SaeArchitecture.TOPK
                    : sparsity instanceof Sparsity.Standard && format.equals("saelens") ? SaeArchitecture.RELU : SaeArchitecture.JUMPRELU;
            assertEquals(expectedArch, sae.architecture());
            float[] got = sae.encode(x, rows).dense();
            float[] gotRecon = sae.reconstruct(x, rows);
            double[][] expected = expected(r, x, rows);
            for (int i = 0; i < rows * w; i++) {
                assertEquals(expected[0][i], got[i], 2e-3 + 2e-3 * Math.abs(expected[0][i]), "activation " + i);
            }
            for (int i = 0; i < rows * d; i++) {
                assertEquals(expected[1][i], gotRecon[i], 3e-3 + 2e-3 * Math.abs(expected[1][i]), "reconstruction " + i);
            }
        }
    }

    /** Activations and reconstructions from the trained parameters, in double. */
    static double[][] expected(SaeTrainer.Result r, float[] x, int rows) {
        SaeParameters p = r.sae().parameters();
        int d = p.dIn(), w = p.width();
        double s = r.scale();
        double[] acts = new double[rows * w], recon = new double[rows * d];
        for (int b = 0; b < rows; b++) {
            double[] pre = new double[w];
            for (int f = 0; f < w; f++) {
                double v = p.bEnc()[f];
                for (int i = 0; i < d; i++) v += (s * x[b * d + i] - p.bDec()[i]) * p.encoder()[f * d + i];
                pre[f] = v;
            }
            double[] a = new double[w];
            switch (r.sae()) {
                case JumpReluTrainingSae j -> { for (int f = 0; f < w; f++) if (pre[f] > Math.exp(p.logThreshold()[f])) a[f] = pre[f]; }
                case BatchTopKTrainingSae bt -> { for (int f = 0; f < w; f++) if (pre[f] > bt.runningThreshold()) a[f] = pre[f]; }
                case TopKTrainingSae t -> {
                    double[] sorted = pre.clone();
                    Arrays.sort(sorted);
                    double kth = sorted[w - t.k()];
                    for (int f = 0; f < w; f++) if (pre[f] >= kth && pre[f] > 0) a[f] = pre[f];
                }
                case StandardTrainingSae st -> { for (int f = 0; f < w; f++) a[f] = Math.max(0, pre[f]); }
            }
            System.arraycopy(a, 0, acts, b * w, w);
            for (int i = 0; i < d; i++) {
                double v = p.bDec()[i];
                for (int f = 0; f < w; f++) v += a[f] * p.decoder()[f * d + i];
                recon[b * d + i] = v / s;
            }
        }
        return new double[][]{acts, recon};
    }
}
