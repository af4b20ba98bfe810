package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
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

    private static Schema schema() {
        ArrowType f64 = ArrowFiles.FLOAT64;
        return ArrowFiles.schema(Map.of("loupe_file", "explanations"),
                ArrowFiles.column("feature_id", ArrowFiles.INT32), ArrowFiles.utf8("explanation"), ArrowFiles.utf8("method"),
                ArrowFiles.utf8("explainer_model"), ArrowFiles.utf8("prompt_hash"),
                new Field("detection", FieldType.nullable(f64), null), new Field("fuzzing", FieldType.nullable(f64), null),
                ArrowFiles.column("time", ArrowFiles.INT64));
    }

    /** Where an SAE's explanations live: beside its features.arrow. */
    public static Path of(FeatureStore store) { return store.runDir().resolve(store.sae().dir() == null ? "." : store.sae().dir()).normalize().resolve(NAME); }

    /** The rows of {@code file}, or none when it does not exist. */
    public static List<Row> read(Path file) throws IOException {
        List<Row> out = new ArrayList<>();
        if (!Files.exists(file)) return out;
        try (BufferAllocator a = new RootAllocator(); ArrowFileReader r = ArrowFiles.open(file, a)) {
            VectorSchemaRoot root = r.getVectorSchemaRoot();
            while (r.loadNextBatch()) {
                IntVector id = (IntVector) root.getVector("feature_id");
                VarCharVector text = (VarCharVector) root.getVector("explanation"), method = (VarCharVector) root.getVector("method"),
                        model = (VarCharVector) root.getVector("explainer_model"), hash = (VarCharVector) root.getVector("prompt_hash");
                Float8Vector det = (Float8Vector) root.getVector("detection"), fuzz = (Float8Vector) root.getVector("fuzzing");
                BigIntVector time = (BigIntVector) root.getVector("time");
                if (id == null || text == null || time == null) throw new IOException(file + ": not an explanations file (no feature_id/explanation/time columns)");
                for (int i = 0; i < root.getRowCount(); i++) {
                    out.add(new Row(id.get(i), str(text, i), str(method, i), str(model, i), str(hash, i),
                            det == null || det.isNull(i) ? null : det.get(i), fuzz == null || fuzz.isNull(i) ? null : fuzz.get(i), time.get(i)));
                }
            }
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
            IntVector id = w.vector("feature_id");
            VarCharVector text = w.vector("explanation"), method = w.vector("method"), model = w.vector("explainer_model"), hash = w.vector("prompt_hash");
            Float8Vector det = w.vector("detection"), fuzz = w.vector("fuzzing");
            BigIntVector time = w.vector("time");
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
