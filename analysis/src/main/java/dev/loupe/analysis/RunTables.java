package dev.loupe.analysis;

import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Arrow files of a corpus run (DESIGN.md §6): each column declared once, the schemas writers use built from
 * those declarations, and a typed reader per file kind over a loaded record batch. pyarrow, polars, DuckDB and
 * apache-arrow JS read the same files, so names, types, order and nullability here are the format.
 */
final class RunTables {
    private RunTables() {}

    // Columns several files share.
    static final ArrowColumn<IntVector> DOC_ID = ArrowColumn.int32("doc_id");
    static final ArrowColumn<IntVector> POS = ArrowColumn.int32("pos");
    static final ArrowColumn<IntVector> FEATURE_ID = ArrowColumn.int32("feature_id");
    static final ArrowColumn<Float4Vector> ACTIVATION = ArrowColumn.float32("activation");

    private static int[] ints(IntVector v, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = v.get(i);
        return out;
    }

    private static float[] floats(Float4Vector v, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = v.get(i);
        return out;
    }

    private static long[] longs(BigIntVector v, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = v.get(i);
        return out;
    }

    private static double[] doubles(Float8Vector v, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = v.get(i);
        return out;
    }

    private static String[] texts(VarCharVector v, int n) {
        String[] out = new String[n];
        for (int i = 0; i < n; i++) out[i] = text(v, i);
        return out;
    }

    private static String text(VarCharVector v, int i) { return new String(v.get(i), StandardCharsets.UTF_8); }

    /** {@code tokens.arrow} (and an unfinished run's token parts): one row per token, in corpus order. */
    static final class Tokens {
        private Tokens() {}

        static final ArrowColumn<IntVector> TOKEN_ID = ArrowColumn.int32("token_id");

        static Schema schema(Map<String, String> metadata) { return ArrowColumn.schema(metadata, DOC_ID, POS, TOKEN_ID); }

        record Batch(int[] docId, int[] pos, int[] tokenId) {
            static Batch read(VectorSchemaRoot root, Path file) {
                int n = root.getRowCount();
                return new Batch(ints(DOC_ID.in(root, file), n), ints(POS.in(root, file), n), ints(TOKEN_ID.in(root, file), n));
            }
        }
    }

    /** {@code activations-NNNNN.arrow}: the nonzero feature activations, sorted by (doc, pos), then feature. */
    static final class Activations {
        private Activations() {}

        static Schema schema(Map<String, String> metadata) { return ArrowColumn.schema(metadata, DOC_ID, POS, FEATURE_ID, ACTIVATION); }

        record Batch(int[] docId, int[] pos, int[] featureId, float[] activation) {
            static Batch read(VectorSchemaRoot root, Path file) {
                int n = root.getRowCount();
                return new Batch(ints(DOC_ID.in(root, file), n), ints(POS.in(root, file), n), ints(FEATURE_ID.in(root, file), n),
                        floats(ACTIVATION.in(root, file), n));
            }

            int rows() { return docId.length; }

            /** The first row at or after token (d, p). */
            int lowerBound(int d, int p) {
                int lo = 0, hi = docId.length;
                while (lo < hi) {
                    int mid = (lo + hi) >>> 1;
                    if (docId[mid] < d || (docId[mid] == d && pos[mid] < p)) lo = mid + 1;
                    else hi = mid;
                }
                return lo;
            }
        }
    }

    /** {@code documents.arrow}: each document's first token row, token count and source. */
    static final class Documents {
        private Documents() {}

        static final ArrowColumn<BigIntVector> TOKEN_OFFSET = ArrowColumn.int64("token_offset");
        static final ArrowColumn<IntVector> TOKEN_COUNT = ArrowColumn.int32("token_count");
        static final ArrowColumn<VarCharVector> SOURCE = ArrowColumn.utf8("source");

        static Schema schema(Map<String, String> metadata) { return ArrowColumn.schema(metadata, DOC_ID, TOKEN_OFFSET, TOKEN_COUNT, SOURCE); }

        record Batch(int[] docId, long[] tokenOffset, int[] tokenCount, String[] source) {
            static Batch read(VectorSchemaRoot root, Path file) {
                int n = root.getRowCount();
                return new Batch(ints(DOC_ID.in(root, file), n), longs(TOKEN_OFFSET.in(root, file), n), ints(TOKEN_COUNT.in(root, file), n),
                        texts(SOURCE.in(root, file), n));
            }
        }
    }

    /**
     * {@code features.arrow}: per feature, its statistics, the histogram of its activations (the bins from its first
     * to its last nonzero one, with their edges) and its logit tables.
     */
    static final class Features {
        private Features() {}

        static final ArrowColumn<BigIntVector> FIRE_COUNT = ArrowColumn.int64("fire_count");
        static final ArrowColumn<Float8Vector> DENSITY = ArrowColumn.float64("density");
        static final ArrowColumn<Float4Vector> MAX_ACTIVATION = ArrowColumn.float32("max_activation");
        static final ArrowColumn<Float4Vector> MEAN_ACTIVATION = ArrowColumn.float32("mean_activation");
        static final ArrowColumn<ListVector> HIST_EDGES = ArrowColumn.listOf("hist_edges", ArrowFiles.FLOAT32);
        static final ArrowColumn<ListVector> HIST_COUNTS = ArrowColumn.listOf("hist_counts", ArrowFiles.INT64);
        static final LogitColumns PROMOTED = new LogitColumns("top_promoted");
        static final LogitColumns SUPPRESSED = new LogitColumns("top_suppressed");

        /** The three list columns of a logit table: token ids, values and token texts. */
        record LogitColumns(ArrowColumn<ListVector> ids, ArrowColumn<ListVector> values, ArrowColumn<ListVector> tokens) {
            LogitColumns(String prefix) {
                this(ArrowColumn.listOf(prefix + "_ids", ArrowFiles.INT32), ArrowColumn.listOf(prefix + "_values", ArrowFiles.FLOAT32),
                        ArrowColumn.listOf(prefix + "_tokens", ArrowType.Utf8.INSTANCE));
            }
        }

        static Schema schema(Map<String, String> metadata) {
            return ArrowColumn.schema(metadata, FEATURE_ID, FIRE_COUNT, DENSITY, MAX_ACTIVATION, MEAN_ACTIVATION, HIST_EDGES, HIST_COUNTS,
                    PROMOTED.ids(), PROMOTED.values(), PROMOTED.tokens(), SUPPRESSED.ids(), SUPPRESSED.values(), SUPPRESSED.tokens());
        }

        /** The statistics columns of a batch. */
        record Scalars(int[] featureId, long[] fireCount, double[] density, float[] maxActivation, float[] meanActivation) {
            static Scalars read(VectorSchemaRoot root, Path file) {
                int n = root.getRowCount();
                return new Scalars(ints(FEATURE_ID.in(root, file), n), longs(FIRE_COUNT.in(root, file), n), doubles(DENSITY.in(root, file), n),
                        floats(MAX_ACTIVATION.in(root, file), n), floats(MEAN_ACTIVATION.in(root, file), n));
            }
        }

        /** The histogram and logit tables of one feature. */
        record Lists(float[] edges, long[] counts, List<TokenValue> promoted, List<TokenValue> suppressed) {}

        /** The list columns of a batch, by feature id. */
        static Map<Integer, Lists> lists(VectorSchemaRoot root, Path file) {
            IntVector id = FEATURE_ID.in(root, file);
            ListVector edges = HIST_EDGES.in(root, file), counts = HIST_COUNTS.in(root, file);
            Float4Vector edgeData = (Float4Vector) edges.getDataVector();
            BigIntVector countData = (BigIntVector) counts.getDataVector();
            Map<Integer, Lists> out = new HashMap<>();
            for (int i = 0; i < root.getRowCount(); i++) {
                int s = edges.getElementStartIndex(i), e = edges.getElementEndIndex(i);
                float[] ed = new float[e - s];
                for (int k = s; k < e; k++) ed[k - s] = edgeData.get(k);
                s = counts.getElementStartIndex(i);
                e = counts.getElementEndIndex(i);
                long[] cs = new long[e - s];
                for (int k = s; k < e; k++) cs[k - s] = countData.get(k);
                out.put(id.get(i), new Lists(ed, cs, tokenValues(root, file, PROMOTED, i), tokenValues(root, file, SUPPRESSED, i)));
            }
            return out;
        }

        /** The token ids of a batch's top promoted tokens, per row, and the text of each token id. */
        static void promoted(VectorSchemaRoot root, Path file, PromotedSink sink) {
            IntVector id = FEATURE_ID.in(root, file);
            ListVector ids = PROMOTED.ids().in(root, file), toks = PROMOTED.tokens().in(root, file);
            IntVector idData = (IntVector) ids.getDataVector();
            VarCharVector tokData = (VarCharVector) toks.getDataVector();
            for (int i = 0; i < root.getRowCount(); i++) {
                int s = ids.getElementStartIndex(i), e = ids.getElementEndIndex(i), ts = toks.getElementStartIndex(i);
                int[] tokenIds = new int[e - s];
                String[] texts = new String[e - s];
                for (int j = s; j < e; j++) {
                    tokenIds[j - s] = idData.get(j);
                    texts[j - s] = text(tokData, ts + j - s);
                }
                sink.feature(id.get(i), tokenIds, texts);
            }
        }

        interface PromotedSink {
            void feature(int featureId, int[] tokenIds, String[] texts);
        }

        private static List<TokenValue> tokenValues(VectorSchemaRoot root, Path file, LogitColumns c, int row) {
            ListVector ids = c.ids().in(root, file), vals = c.values().in(root, file), toks = c.tokens().in(root, file);
            IntVector idData = (IntVector) ids.getDataVector();
            Float4Vector valData = (Float4Vector) vals.getDataVector();
            VarCharVector tokData = (VarCharVector) toks.getDataVector();
            int s = ids.getElementStartIndex(row), e = ids.getElementEndIndex(row);
            int ts = toks.getElementStartIndex(row), vs = vals.getElementStartIndex(row);
            List<TokenValue> out = new ArrayList<>(e - s);
            for (int i = 0; i < e - s; i++) out.add(new TokenValue(idData.get(s + i), text(tokData, ts + i), valData.get(vs + i)));
            return out;
        }
    }

    /** {@code top_examples.arrow}: per feature, its top examples then each quantile group's, strongest first. */
    static final class Examples {
        private Examples() {}

        static final ArrowColumn<VarCharVector> KIND = ArrowColumn.utf8("kind");
        static final ArrowColumn<IntVector> RANK = ArrowColumn.int32("rank");

        static Schema schema(Map<String, String> metadata) { return ArrowColumn.schema(metadata, FEATURE_ID, KIND, RANK, DOC_ID, POS, ACTIVATION); }

        record Batch(int[] featureId, String[] kind, int[] rank, int[] docId, int[] pos, float[] activation) {
            static Batch read(VectorSchemaRoot root, Path file) {
                int n = root.getRowCount();
                String[] kinds = texts(KIND.in(root, file), n);
                Map<String, String> interned = new HashMap<>();   // a few kinds, many rows
                for (int i = 0; i < n; i++) kinds[i] = interned.computeIfAbsent(kinds[i], x -> x);
                return new Batch(ints(FEATURE_ID.in(root, file), n), kinds, ints(RANK.in(root, file), n), ints(DOC_ID.in(root, file), n),
                        ints(POS.in(root, file), n), floats(ACTIVATION.in(root, file), n));
            }
        }
    }
}
