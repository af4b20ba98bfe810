package dev.loupe.sae.train;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.weights.SafetensorsFile;
import dev.loupe.model.weights.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training run's full state in one safetensors file (parameters, Adam moments, dead-feature counters; the
 * counters and the settings' fingerprint in its metadata). {@link SafetensorsWriter} writes it under a temporary
 * name and renames it, so a run killed at any moment leaves the previous checkpoint or the new one, never half of one.
 */
final class TrainCheckpoint {
    private TrainCheckpoint() {}

    record Loaded(SaeTrainer.TrainState state, SaeParameters params, SaeParameters m, SaeParameters v,
                  double[] tokensSinceFired, long[] fireCounts) {}

    static void write(Path file, TrainOptions options, SaeTrainer.TrainState s, SaeParameters p, SaeParameters m,
                      SaeParameters v, double[] tokensSinceFired, long[] fireCounts, Backend backend) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("options", fingerprint(options));
        meta.put("step", Long.toString(s.step));
        meta.put("tokens", Long.toString(s.tokens));
        meta.put("counted_tokens", Long.toString(s.countedTokens));
        meta.put("source_position", Long.toString(s.sourcePosition));
        meta.put("random_state", Long.toString(s.randomState));
        meta.put("scale", Float.toString(s.scale));
        meta.put("sparsity_coefficient", Float.toString(s.sparsityCoefficient));
        meta.put("running_threshold", Float.toString(s.runningThreshold));
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        for (String prefix : new String[]{"param.", "m.", "v."}) {
            SaeParameters which = prefix.equals("param.") ? p : prefix.equals("m.") ? m : v;
            for (SaeParameters.Named n : which.named()) {
                tensors.add(SafetensorsWriter.Tensor.ofFloats(prefix + n.name(), DType.F32, new long[]{n.values().length}, n.values()));
            }
        }
        float[] since = new float[tokensSinceFired.length], fires = new float[fireCounts.length];
        for (int f = 0; f < since.length; f++) {
            since[f] = (float) tokensSinceFired[f];
            fires[f] = fireCounts[f];
        }
        tensors.add(SafetensorsWriter.Tensor.ofFloats("tokens_since_fired", DType.F32, new long[]{since.length}, since));
        tensors.add(SafetensorsWriter.Tensor.ofFloats("fire_counts", DType.F32, new long[]{fires.length}, fires));
        SafetensorsWriter.write(file, meta, tensors, 2);
    }

    static Loaded read(Path file, TrainOptions options, int dIn) throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Map<String, String> meta = st.metadata();
            String expected = fingerprint(options);
            if (meta == null || !expected.equals(meta.get("options"))) {
                throw new BadInputException(file + ": the checkpoint was made with other settings (" + (meta == null ? "none" : meta.get("options"))
                        + "); rerun with the same options or use an empty output folder");
            }
            SaeTrainer.TrainState s = new SaeTrainer.TrainState();
            s.step = Long.parseLong(meta.get("step"));
            s.tokens = Long.parseLong(meta.get("tokens"));
            s.countedTokens = Long.parseLong(meta.get("counted_tokens"));
            s.sourcePosition = Long.parseLong(meta.get("source_position"));
            s.randomState = Long.parseLong(meta.get("random_state"));
            s.scale = Float.parseFloat(meta.get("scale"));
            s.sparsityCoefficient = Float.parseFloat(meta.get("sparsity_coefficient"));
            s.runningThreshold = Float.parseFloat(meta.get("running_threshold"));
            boolean jump = options.sparsity() instanceof Sparsity.JumpRelu;
            SaeParameters[] sets = new SaeParameters[3];
            String[] prefixes = {"param.", "m.", "v."};
            for (int i = 0; i < 3; i++) {
                SaeParameters z = SaeParameters.zeros(dIn, options.width(), jump);
                for (SaeParameters.Named n : z.named()) {
                    float[] values = st.tensor(prefixes[i] + n.name()).toFloatArray();
                    if (values.length != n.values().length) {
                        throw new BadInputException(file + ": " + prefixes[i] + n.name() + " has " + values.length + " values, expected " + n.values().length);
                    }
                    System.arraycopy(values, 0, n.values(), 0, values.length);
                }
                sets[i] = z;
            }
            float[] since = st.tensor("tokens_since_fired").toFloatArray(), fires = st.tensor("fire_counts").toFloatArray();
            double[] sinceD = new double[since.length];
            long[] firesL = new long[fires.length];
            for (int f = 0; f < since.length; f++) {
                sinceD[f] = since[f];
                firesL[f] = (long) fires[f];
            }
            return new Loaded(s, sets[0], sets[1], sets[2], sinceD, firesL);
        }
    }

    /** What must match for a checkpoint to be resumed with these options. */
    static String fingerprint(TrainOptions o) { return o.toString(); }
}
