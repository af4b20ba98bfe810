package dev.loupe.sae.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.weights.SafetensorsWriter;
import dev.loupe.sae.io.NpzWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a trained SAE for inference, with the activation scale folded into the weights (as SAELens's
 * {@code fold_activation_norm_scaling_factor} does): {@code W_enc·s}, {@code W_dec/s}, {@code b_dec/s}.
 * <ul>
 *   <li>SAELens layout: {@code cfg.json}, {@code sae_weights.safetensors} ({@code W_enc [d_in, d_sae]},
 *       {@code W_dec}, {@code b_enc}, {@code b_dec}, and {@code threshold} for JumpReLU), and
 *       {@code sparsity.safetensors} (log10 firing frequency per feature). BatchTopK is written as the JumpReLU SAE
 *       its running threshold defines, as SAELens converts it.</li>
 *   <li>Gemma Scope layout: {@code params.npz}, whose encoder does not subtract {@code b_dec}: it is folded into
 *       {@code b_enc}. Standard SAEs become JumpReLU with threshold 0; TopK has no Gemma Scope form.</li>
 * </ul>
 */
public final class SaeExport {
    private SaeExport() {}

    /** What the folder records about where the SAE came from. */
    public record Provenance(String hookName, String modelName, int contextSize, String datasetPath) {}

    public sealed interface Format {
        record SaeLens() implements Format {}

        record GemmaScope() implements Format {}
    }

    /** The inference weights, scale folded in; {@code threshold} null for TopK. */
    record Weights(int dIn, int width, float[] wEnc, float[] wDec, float[] bEnc, float[] bDec, float[] threshold, String architecture, int k) {}

    static Weights weights(SaeTrainer.Result r) {
        TrainingSae sae = r.sae();
        SaeParameters p = sae.parameters();
        int d = p.dIn(), w = p.width();
        float s = r.scale();
        float[] wEnc = new float[d * w];
        float[] encT = p.encoder();
        for (int f = 0; f < w; f++) for (int i = 0; i < d; i++) wEnc[i * w + f] = encT[f * d + i] * s;
        float[] wDec = p.decoder().clone();
        for (int i = 0; i < wDec.length; i++) wDec[i] /= s;
        float[] bDec = p.bDec().clone();
        for (int i = 0; i < d; i++) bDec[i] /= s;
        float[] threshold = null;
        String arch = sae.saeLensArchitecture();
        int k = 0;
        switch (sae) {
            case JumpReluTrainingSae j -> threshold = j.threshold();
            case BatchTopKTrainingSae b -> {
                threshold = new float[w];
                java.util.Arrays.fill(threshold, b.runningThreshold());
                arch = "jumprelu";
            }
            case TopKTrainingSae t -> k = t.k();
            case StandardTrainingSae st -> { }
        }
        return new Weights(d, w, wEnc, wDec, p.bEnc().clone(), bDec, threshold, arch, k);
    }

    public static void write(Path dir, SaeTrainer.Result r, Provenance prov, Format format) throws IOException {
        Files.createDirectories(dir);
        Weights w = weights(r);
        switch (format) {
            case Format.SaeLens s -> writeSaeLens(dir, w, r.firingFrequency(), prov);
            case Format.GemmaScope g -> writeGemmaScope(dir, w);
        }
    }

    private static void writeSaeLens(Path dir, Weights w, float[] frequency, Provenance prov) throws IOException {
        List<SafetensorsWriter.Tensor> t = new ArrayList<>();
        t.add(SafetensorsWriter.Tensor.ofFloats("W_enc", DType.F32, new long[]{w.dIn, w.width}, w.wEnc));
        t.add(SafetensorsWriter.Tensor.ofFloats("W_dec", DType.F32, new long[]{w.width, w.dIn}, w.wDec));
        t.add(SafetensorsWriter.Tensor.ofFloats("b_enc", DType.F32, new long[]{w.width}, w.bEnc));
        t.add(SafetensorsWriter.Tensor.ofFloats("b_dec", DType.F32, new long[]{w.dIn}, w.bDec));
        if (w.threshold != null) t.add(SafetensorsWriter.Tensor.ofFloats("threshold", DType.F32, new long[]{w.width}, w.threshold));
        SafetensorsWriter.write(dir.resolve("sae_weights.safetensors"), Map.of(), t, 2);
        float[] logFreq = new float[w.width];
        for (int f = 0; f < logFreq.length; f++) logFreq[f] = (float) Math.log10(frequency[f] + 1e-10);
        SafetensorsWriter.write(dir.resolve("sparsity.safetensors"), Map.of(),
                List.of(SafetensorsWriter.Tensor.ofFloats("sparsity", DType.F32, new long[]{w.width}, logFreq)), 1);

        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.createObjectNode();
        cfg.put("architecture", w.architecture);
        cfg.put("d_in", w.dIn);
        cfg.put("d_sae", w.width);
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        cfg.put("apply_b_dec_to_input", true);
        cfg.put("normalize_activations", "none");
        cfg.put("reshape_activations", "none");
        if (w.architecture.equals("topk")) {
            cfg.put("k", w.k);
            cfg.put("rescale_acts_by_decoder_norm", false);
        }
        ObjectNode meta = cfg.putObject("metadata");
        meta.put("model_name", prov.modelName());
        meta.put("hook_name", prov.hookName());
        meta.putNull("hook_head_index");
        meta.put("context_size", prov.contextSize());
        meta.put("prepend_bos", true);
        meta.put("dataset_path", prov.datasetPath());
        meta.put("sae_lens_training_version", "loupe");
        AtomicFiles.writeString(dir.resolve("cfg.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
    }

    private static void writeGemmaScope(Path dir, Weights w) throws IOException {
        if (w.threshold == null && w.architecture.equals("topk")) {
            throw BadInputException.of("format", "gemma-scope holds JumpReLU SAEs (jumprelu, batchtopk, standard); a topk SAE has no such form");
        }
        float[] threshold = w.threshold != null ? w.threshold : new float[w.width];
        // Gemma Scope encodes x·W_enc + b_enc: fold −b_dec·W_enc into b_enc.
        float[] bEnc = w.bEnc.clone();
        for (int i = 0; i < w.dIn; i++) {
            float b = w.bDec[i];
            for (int f = 0; f < w.width; f++) bEnc[f] -= b * w.wEnc[i * w.width + f];
        }
        try (NpzWriter out = NpzWriter.create(dir.resolve("params.npz"))) {
            out.add("W_enc", new long[]{w.dIn, w.width}, (start, chunk, count) -> System.arraycopy(w.wEnc, (int) start, chunk, 0, count));
            out.add("W_dec", new long[]{w.width, w.dIn}, (start, chunk, count) -> System.arraycopy(w.wDec, (int) start, chunk, 0, count));
            out.add("b_enc", new long[]{w.width}, (start, chunk, count) -> System.arraycopy(bEnc, (int) start, chunk, 0, count));
            out.add("b_dec", new long[]{w.dIn}, (start, chunk, count) -> System.arraycopy(w.bDec, (int) start, chunk, 0, count));
            out.add("threshold", new long[]{w.width}, (start, chunk, count) -> System.arraycopy(threshold, (int) start, chunk, 0, count));
            out.finish();
        }
    }
}
