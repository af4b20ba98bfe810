package dev.loupe.analysis;

import dev.loupe.model.io.AtomicFiles;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.compression.CompressionUtil;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.message.IpcOption;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/** The column types, and the write-to-temporary-then-rename discipline and checksums shared by every run file. */
final class ArrowFiles {
    private ArrowFiles() {}

    static final ArrowType INT32 = new ArrowType.Int(32, true);
    static final ArrowType INT64 = new ArrowType.Int(64, true);
    static final ArrowType FLOAT32 = new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
    static final ArrowType FLOAT64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);

    /** Schema metadata key of the run id every file of a run carries (see {@link RunCheck}). */
    static final String RUN_ID = "loupe_run_id";

    /**
     * A file's length and CRC32C, as run.json and the shard markers record them. CRC32C rather than a cryptographic
     * hash: it is there to catch damage and swapped files, not forgery, and the JDK computes it at memory speed, so
     * opening a run can afford to check every byte.
     */
    record FileSum(long bytes, String crc32c) {
        static FileSum of(long bytes, CRC32C crc) { return new FileSum(bytes, HexFormat.of().toHexDigits((int) crc.getValue())); }
    }

    /** Reads a whole file and sums it. */
    static FileSum sum(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        long bytes = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            for (int n; (n = ch.read(buf)) >= 0; ) {
                buf.flip();
                crc.update(buf);
                bytes += n;
                buf.clear();
            }
        }
        return FileSum.of(bytes, crc);
    }

    /**
     * The channel an Arrow file is written through: sums what passes (so a file's checksum costs no second read)
     * and names the file in write errors, which the JDK reports without a path ("No space left on device").
     */
    private static final class SummingChannel implements WritableByteChannel {
        private final FileChannel out;
        private final Path file;
        private final CRC32C crc = new CRC32C();
        private long bytes;

        SummingChannel(FileChannel out, Path file) {
            this.out = out;
            this.file = file;
        }

        @Override public int write(ByteBuffer src) throws IOException {
            ByteBuffer view = src.duplicate();
            int n;
            try {
                n = out.write(src);
            } catch (IOException e) {
                throw new IOException(file + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
            }
            view.limit(view.position() + n);
            crc.update(view);
            bytes += n;
            return n;
        }

        FileSum sum() { return FileSum.of(bytes, crc); }

        @Override public boolean isOpen() { return out.isOpen(); }

        @Override public void close() throws IOException { out.close(); }
    }


    /**
     * An Arrow IPC file being written under its temporary name: fill {@link #root()}, call {@link #writeBatch(int)},
     * then {@link #finish()} renames it into place. Closing an unfinished writer deletes the temporary file.
     */
    static final class Writer implements AutoCloseable {
        private final Path file, tmp;
        private final VectorSchemaRoot root;
        private final FileChannel channel;
        private final SummingChannel summing;
        private final ArrowFileWriter writer;
        private boolean finished;

        Writer(Path file, Schema schema, Compression compression, BufferAllocator allocator) throws IOException {
            this.file = file;
            this.tmp = AtomicFiles.temporary(file);
            this.root = VectorSchemaRoot.create(schema, allocator);
            this.channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            this.summing = new SummingChannel(channel, tmp);
            CompressionUtil.CodecType codec = switch (compression) {
                case ZSTD -> CompressionUtil.CodecType.ZSTD;
                case LZ4 -> CompressionUtil.CodecType.LZ4_FRAME;
                case NONE -> CompressionUtil.CodecType.NO_COMPRESSION;
            };
            this.writer = compression == Compression.NONE
                    ? new ArrowFileWriter(root, null, summing, null, IpcOption.DEFAULT)
                    : new ArrowFileWriter(root, null, summing, null, IpcOption.DEFAULT, CommonsCompressionFactory.INSTANCE, codec);
            writer.start();
        }

        VectorSchemaRoot root() { return root; }

        /** Writes the first {@code rows} rows of the root as one record batch. */
        void writeBatch(int rows) throws IOException {
            root.setRowCount(rows);
            writer.writeBatch();
        }

        /** Ends the file, renames it into place and returns its length and checksum. */
        FileSum finish() throws IOException {
            writer.end();
            writer.close();
            channel.close();
            AtomicFiles.publish(tmp, file);
            finished = true;
            return summing.sum();
        }

        Path file() { return file; }

        @Override public void close() throws IOException {
            try {
                if (!finished) {
                    try {
                        writer.close();
                    } catch (RuntimeException ignored) {
                        // the temporary file is deleted below whatever state the writer was left in
                    }
                    channel.close();
                    Files.deleteIfExists(tmp);
                }
            } finally {
                root.close();
            }
        }
    }

    /** The run id in a file's schema metadata, or null when it has none; fails when the file is not Arrow IPC. */
    static String runId(Path file, BufferAllocator allocator) throws IOException {
        try (ArrowFileReader r = open(file, allocator)) {
            return r.getVectorSchemaRoot().getSchema().getCustomMetadata().get(RUN_ID);
        }
    }

    /** What is done with each record batch of a file. */
    interface BatchConsumer {
        void accept(VectorSchemaRoot root) throws IOException;
    }

    /** Reads every record batch of a file in order. */
    static void forEachBatch(Path file, BufferAllocator allocator, BatchConsumer consumer) throws IOException {
        try (ArrowFileReader r = open(file, allocator)) {
            VectorSchemaRoot root = r.getVectorSchemaRoot();
            while (r.loadNextBatch()) consumer.accept(root);
        }
    }

    /** Opens an Arrow IPC file for random access to its record batches (compressed or not). */
    static ArrowFileReader open(Path file, BufferAllocator allocator) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            ArrowFileReader r = new ArrowFileReader(ch, allocator, CommonsCompressionFactory.INSTANCE);
            r.initialize();
            return r;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw new IOException(file + ": not a readable Arrow IPC file (" + e.getMessage() + ")", e);
        }
    }
}
