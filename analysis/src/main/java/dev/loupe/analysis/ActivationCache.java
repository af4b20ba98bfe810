package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import dev.loupe.sae.train.ActivationSource;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Hook activations stored as an Arrow IPC file for reuse by later SAE training runs: one column
 * {@code activation}, a fixed-size list of {@code d_in} float32 per token, in the order the model produced them
 * (special tokens already left out); the schema metadata names the hook, model and width.
 */
public final class ActivationCache {
    private static final int BATCH_ROWS = 1024;

    private ActivationCache() {}

    private static final Field ITEM = new Field("item", FieldType.notNullable(ArrowFiles.FLOAT32), null);

    /** The one column, declared here only: {@code activation}, {@code width} float32 per row. */
    static Field column(int width) {
        return new Field("activation", FieldType.notNullable(new ArrowType.FixedSizeList(width)), List.of(ITEM));
    }

    static Schema schema(int width, Map<String, String> metadata) { return new Schema(List.of(column(width)), metadata); }

    /**
     * A source that passes {@code inner}'s rows through and appends them to {@code file} (written under a
     * temporary name; {@link Recorder#finish()} renames it into place, {@link Recorder#close()} without it discards it).
     */
    public static Recorder record(ActivationSource inner, Path file, Map<String, String> metadata) throws IOException {
        return new Recorder(inner, file, metadata);
    }

    public static final class Recorder implements ActivationSource, AutoCloseable {
        private final ActivationSource inner;
        private final BufferAllocator allocator = new RootAllocator();
        private final ArrowFiles.Writer writer;
        private final FixedSizeListVector list;
        private final Float4Vector values;
        private final int width;
        private int pending;
        private long rows;

        private Recorder(ActivationSource inner, Path file, Map<String, String> metadata) throws IOException {
            this.inner = inner;
            this.width = inner.width();
            this.writer = new ArrowFiles.Writer(file, schema(width, metadata), Compression.NONE, allocator);
            this.list = (FixedSizeListVector) writer.root().getVector(column(width).getName());
            this.values = (Float4Vector) list.getDataVector();
        }

        @Override public int width() { return width; }

        @Override public int read(float[] dst, int rowOffset, int maxRows) {
            int n = inner.read(dst, rowOffset, maxRows);
            try {
                for (int r = 0; r < n; r++) {
                    if (pending == 0) {
                        list.allocateNew();
                        values.allocateNew(BATCH_ROWS * width);
                    }
                    list.setNotNull(pending);
                    int base = pending * width, src = (rowOffset + r) * width;
                    for (int i = 0; i < width; i++) values.set(base + i, dst[src + i]);
                    if (++pending == BATCH_ROWS) flush();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            rows += n;
            return n;
        }

        private void flush() throws IOException {
            if (pending == 0) return;
            values.setValueCount(pending * width);
            list.setValueCount(pending);
            writer.writeBatch(pending);
            pending = 0;
        }

        /** Rows written so far. */
        public long rows() { return rows; }

        @Override public long position() { return inner.position(); }

        @Override public void seek(long position) {
            throw new BadInputException("an activation cache is recorded by a run from its start; a resumed run does not record one");
        }

        /** Writes the last rows and renames the file into place. */
        public void finish() throws IOException {
            flush();
            writer.finish();
        }

        @Override public void close() throws IOException {
            try {
                writer.close();
            } finally {
                allocator.close();
            }
        }
    }

    /** A recorded cache as a training source; its position is the row index. */
    public static Replay open(Path file) throws IOException { return new Replay(file); }

    public static final class Replay implements ActivationSource, AutoCloseable {
        private final Path file;
        private final BufferAllocator allocator = new RootAllocator();
        private final int width;
        private final long totalRows;
        private FileChannel channel;
        private ArrowFileReader reader;
        private int batchRow, batchRows;
        private long position;

        private Replay(Path file) throws IOException {
            this.file = file;
            reopen();
            List<Field> fields = reader.getVectorSchemaRoot().getSchema().getFields();
            Field f = fields.isEmpty() ? null : fields.getFirst();
            if (fields.size() != 1 || !(f.getType() instanceof ArrowType.FixedSizeList l) || !f.getName().equals(column(0).getName())
                    || f.getChildren().size() != 1 || !f.getChildren().getFirst().getType().equals(ITEM.getType())) {
                throw new BadInputException(file + ": not an activation cache (expected one column " + column(0).getName()
                        + ", a fixed-size list of float32; it has " + fields + ")");
            }
            this.width = l.getListSize();
            long n = 0;
            for (var block : reader.getRecordBlocks()) {
                reader.loadRecordBatch(block);
                n += reader.getVectorSchemaRoot().getRowCount();
            }
            this.totalRows = n;
            seek(0);
        }

        private void reopen() throws IOException {
            if (reader != null) reader.close();
            channel = FileChannel.open(file, StandardOpenOption.READ);
            reader = new ArrowFileReader(channel, allocator);
            batchRow = batchRows = 0;
        }

        /** The schema metadata (hook, model, d_in). */
        public Map<String, String> metadata() throws IOException { return reader.getVectorSchemaRoot().getSchema().getCustomMetadata(); }

        public long rows() { return totalRows; }

        @Override public int width() { return width; }

        @Override public int read(float[] dst, int rowOffset, int maxRows) {
            try {
                int done = 0;
                while (done < maxRows) {
                    if (batchRow == batchRows) {
                        if (!reader.loadNextBatch()) break;
                        batchRow = 0;
                        batchRows = reader.getVectorSchemaRoot().getRowCount();
                        continue;
                    }
                    VectorSchemaRoot root = reader.getVectorSchemaRoot();
                    Float4Vector values = (Float4Vector) ((FixedSizeListVector) root.getVector(0)).getDataVector();
                    int n = Math.min(maxRows - done, batchRows - batchRow);
                    for (int r = 0; r < n; r++) {
                        int src = (batchRow + r) * width, o = (rowOffset + done + r) * width;
                        for (int i = 0; i < width; i++) dst[o + i] = values.get(src + i);
                    }
                    batchRow += n;
                    done += n;
                }
                position += done;
                return done;
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": " + e.getMessage(), e);
            }
        }

        @Override public long position() { return position; }

        @Override public void seek(long target) {
            try {
                reopen();
                position = 0;
                long skip = target;
                float[] sink = new float[Math.max(1, width) * 256];
                while (skip > 0) {
                    int got = read(sink, 0, (int) Math.min(256, skip));
                    if (got == 0) break;
                    skip -= got;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": " + e.getMessage(), e);
            }
        }

        @Override public void close() throws IOException {
            try {
                reader.close();
            } finally {
                allocator.close();
            }
        }
    }
}
