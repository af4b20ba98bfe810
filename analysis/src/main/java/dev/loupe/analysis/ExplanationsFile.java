package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code explanations.arrow} beside an SAE's features: one row per explanation of a feature, written by
 * {@code loupe explain}. Columns: feature_id int32, explanation utf8, method utf8, explainer_model utf8,
 * prompt_hash utf8, detection float64 and fuzzing float64 (balanced accuracies; null when not scored), time int64
 * (milliseconds since the epoch). Written whole under a temporary name and renamed.
 */
public final class ExplanationsFile {
    public static final String NAME = "explanations.arrow";

    /** One explanation of a feature and its scores (null when not scored). */
    public record Row(int featureId, String explanation, String method, String explainerModel, String promptHash,
                      Double detection, Double fuzzing, long timeMillis) {}

    private ExplanationsFile() {}

    private static final ArrowColumn<IntVector> FEATURE_ID = RunTables.FEATURE_ID;
    private static final ArrowColumn<VarCharVector> EXPLANATION = ArrowColumn.utf8("explanation"), METHOD = ArrowColumn.utf8("method"),
            EXPLAINER_MODEL = ArrowColumn.utf8("explainer_model"), PROMPT_HASH = ArrowColumn.utf8("prompt_hash");
    private static final ArrowColumn<Float8Vector> DETECTION = ArrowColumn.nullableFloat64("detection"), FUZZING = ArrowColumn.nullableFloat64("fuzzing");
    private static final ArrowColumn<BigIntVector> TIME = ArrowColumn.int64("time");

    private static Schema schema() {
        return ArrowColumn.schema(Map.of("loupe_file", "explanations"), FEATURE_ID, EXPLANATION, METHOD, EXPLAINER_MODEL, PROMPT_HASH,
                DETECTION, FUZZING, TIME);
    }

    /** Where an SAE's explanations live: beside its features.arrow. */
    public static Path of(FeatureStore store) { return store.runDir().resolve(store.sae().dir() == null ? "." : store.sae().dir()).normalize().resolve(NAME); }

    /** The rows of {@code file}, or none when it does not exist. */
    public static List<Row> read(Path file) throws IOException {
        List<Row> out = new ArrayList<>();
        if (!Files.exists(file)) return out;
        try (BufferAllocator a = new RootAllocator()) {
            ArrowFiles.forEachBatch(file, a, root -> {
                // The text columns other than the explanation, and the scores, are optional: null when absent.
                IntVector id = FEATURE_ID.in(root, file);
                VarCharVector text = EXPLANATION.in(root, file), method = METHOD.find(root, file), model = EXPLAINER_MODEL.find(root, file),
                        hash = PROMPT_HASH.find(root, file);
                Float8Vector det = DETECTION.find(root, file), fuzz = FUZZING.find(root, file);
                BigIntVector time = TIME.in(root, file);
                for (int i = 0; i < root.getRowCount(); i++) {
                    out.add(new Row(id.get(i), str(text, i), str(method, i), str(model, i), str(hash, i),
                            det == null || det.isNull(i) ? null : det.get(i), fuzz == null || fuzz.isNull(i) ? null : fuzz.get(i), time.get(i)));
                }
            });
        }
        return out;
    }

    private static String str(VarCharVector v, int i) { return v == null || v.isNull(i) ? null : new String(v.get(i), StandardCharsets.UTF_8); }

    /** Writes {@code rows} (sorted by feature, then time) to {@code file}, replacing it. */
    public static void write(Path file, List<Row> rows) throws IOException {
        List<Row> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingInt(Row::featureId).thenComparingLong(Row::timeMillis));
        try (BufferAllocator a = new RootAllocator(); ArrowFiles.Writer w = new ArrowFiles.Writer(file, schema(), Compression.NONE, a)) {
            int n = sorted.size();
            IntVector id = FEATURE_ID.in(w);
            VarCharVector text = EXPLANATION.in(w), method = METHOD.in(w), model = EXPLAINER_MODEL.in(w), hash = PROMPT_HASH.in(w);
            Float8Vector det = DETECTION.in(w), fuzz = FUZZING.in(w);
            BigIntVector time = TIME.in(w);
            id.allocateNew(n);
            det.allocateNew(n);
            fuzz.allocateNew(n);
            time.allocateNew(n);
            for (VarCharVector v : List.of(text, method, model, hash)) v.allocateNew(n);
            for (int i = 0; i < n; i++) {
                Row r = sorted.get(i);
                id.set(i, r.featureId());
                text.setSafe(i, bytes(r.explanation()));
                method.setSafe(i, bytes(r.method()));
                model.setSafe(i, bytes(r.explainerModel()));
                hash.setSafe(i, bytes(r.promptHash()));
                if (r.detection() == null) det.setNull(i); else det.set(i, r.detection());
                if (r.fuzzing() == null) fuzz.setNull(i); else fuzz.set(i, r.fuzzing());
                time.set(i, r.timeMillis());
            }
            for (var v : List.of(id, det, fuzz, time, text, method, model, hash)) v.setValueCount(n);
            w.writeBatch(n);
            w.finish();
        }
    }

    private static byte[] bytes(String s) { return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8); }
}
