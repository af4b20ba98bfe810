package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes token-keyed rows ({@code tokens} parts and activation shards) in record batches that each cover exactly
 * {@code batchTokens} tokens (the last fewer), so a reader finds the batch of token row {@code t} of a shard as
 * {@code t / batchTokens} through the file footer. Columns are int32 except a trailing float32 activation.
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

    RowsWriter(Path path, Schema schema, Compression compression, BufferAllocator allocator, int batchTokens) throws IOException {
        this.file = new ArrowFiles.Writer(path, schema, compression, allocator);
        int n = schema.getFields().size();
        boolean lastIsFloat = file.root().getVector(n - 1) instanceof Float4Vector;
        int nInts = lastIsFloat ? n - 1 : n;
        this.ints = new IntVector[nInts];
        for (int i = 0; i < nInts; i++) ints[i] = (IntVector) file.root().getVector(i);
        this.floats = lastIsFloat ? (Float4Vector) file.root().getVector(n - 1) : null;
        this.batchTokens = batchTokens;
        this.intRows = new int[nInts][1024];
        this.floatRows = lastIsFloat ? new float[1024] : null;
    }

    /** Adds a row of int columns (and the float column when the schema ends with one). */
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
