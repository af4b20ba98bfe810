package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Writes token-keyed rows ({@code tokens} parts and activation shards) in record batches that each cover exactly
 * {@code batchTokens} tokens (the last fewer), so a reader finds the batch of token row {@code t} of a shard as
 * {@code t / batchTokens} through the file footer. Three int32 columns, and for activations a float32 one.
 */
final class RowsWriter implements AutoCloseable {
    private final ArrowFiles.Writer file;
    private final IntVector[] ints;
    private final Float4Vector floats;
    private final int batchTokens;
    private int[][] intRows;
    private float[] floatRows;
    private int rows, tokensInBatch;
    private long totalRows;
    private int batches;

    /** A token part or {@code tokens.arrow}: (doc_id, pos, token_id) rows. */
    static RowsWriter tokens(Path path, Map<String, String> metadata, Compression compression, BufferAllocator allocator, int batchTokens)
            throws IOException {
        ArrowFiles.Writer w = new ArrowFiles.Writer(path, RunTables.Tokens.schema(metadata), compression, allocator);
        return new RowsWriter(w, new IntVector[]{RunTables.DOC_ID.in(w), RunTables.POS.in(w), RunTables.Tokens.TOKEN_ID.in(w)}, null, batchTokens);
    }

    /** An activation shard: (doc_id, pos, feature_id, activation) rows. */
    static RowsWriter activations(Path path, Map<String, String> metadata, Compression compression, BufferAllocator allocator, int batchTokens)
            throws IOException {
        ArrowFiles.Writer w = new ArrowFiles.Writer(path, RunTables.Activations.schema(metadata), compression, allocator);
        return new RowsWriter(w, new IntVector[]{RunTables.DOC_ID.in(w), RunTables.POS.in(w), RunTables.FEATURE_ID.in(w)},
                RunTables.ACTIVATION.in(w), batchTokens);
    }

    private RowsWriter(ArrowFiles.Writer file, IntVector[] ints, Float4Vector floats, int batchTokens) {
        this.file = file;
        this.ints = ints;
        this.floats = floats;
        this.batchTokens = batchTokens;
        this.intRows = new int[ints.length][1024];
        this.floatRows = floats != null ? new float[1024] : null;
    }

    /** Adds a row of int columns (and the float column of an activation shard). */
    void add(int a, int b, int c, float value) {
        if (rows == intRows[0].length) grow();
        intRows[0][rows] = a;
        intRows[1][rows] = b;
        intRows[2][rows] = c;
        if (floatRows != null) floatRows[rows] = value;
        rows++;
    }

    /** Marks the end of one token's rows; writes a batch every {@code batchTokens} tokens. */
    void endToken() throws IOException {
        if (++tokensInBatch == batchTokens) flush();
    }

    private void grow() {
        int n = intRows[0].length * 2;
        for (int i = 0; i < intRows.length; i++) intRows[i] = Arrays.copyOf(intRows[i], n);
        if (floatRows != null) floatRows = Arrays.copyOf(floatRows, n);
    }

    private void flush() throws IOException {
        for (int c = 0; c < ints.length; c++) {
            IntVector v = ints[c];
            v.allocateNew(rows);
            for (int i = 0; i < rows; i++) v.set(i, intRows[c][i]);
            v.setValueCount(rows);
        }
        if (floats != null) {
            floats.allocateNew(rows);
            for (int i = 0; i < rows; i++) floats.set(i, floatRows[i]);
            floats.setValueCount(rows);
        }
        file.writeBatch(rows);
        totalRows += rows;
        batches++;
        rows = 0;
        tokensInBatch = 0;
    }

    long rows() { return totalRows + rows; }

    /** Writes the last (partial) batch, ends the file, renames it into place and returns its length and checksum. */
    ArrowFiles.FileSum finish() throws IOException {
        if (tokensInBatch > 0 || batches == 0) flush();
        return file.finish();
    }

    @Override public void close() throws IOException { file.close(); }
}
