package dev.loupe.sae.io;

import dev.loupe.model.io.NpyHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Writes an uncompressed {@code .npz} archive of float32 arrays, as {@code numpy.savez} does (stored entries,
 * zip64 extra fields in every local header; zip64 central records when offsets or sizes need them). Arrays
 * are produced chunk by chunk, so archives larger than the heap can be written. The archive is written to
 * {@code <name>.partial} and renamed when {@link #finish()} completes.
 */
public final class NpzWriter implements AutoCloseable {
    /** Produces the values at flat (row-major) indices {@code [start, start + n)}. */
    @FunctionalInterface
    public interface Values {
        void fill(long start, float[] chunk, int n);
    }

    private record Written(String fileName, long crc, long size, long offset) {}

    private static final int CHUNK = 1 << 20;
    private static final long MAX32 = 0xffffffffL;

    private final Path target;
    private final Path partial;
    private final FileChannel out;
    private final boolean forceZip64;
    private final List<Written> written = new ArrayList<>();
    private boolean finished;

    private NpzWriter(Path target, boolean forceZip64) throws IOException {
        this.target = target;
        this.partial = dev.loupe.model.io.AtomicFiles.temporary(target);
        this.out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.READ);
        this.forceZip64 = forceZip64;
    }

    public static NpzWriter create(Path target) throws IOException { return new NpzWriter(target, false); }

    /** Also writes zip64 central-directory fields and end records for a small archive (to test readers). */
    public static NpzWriter createZip64(Path target) throws IOException { return new NpzWriter(target, true); }

    /** Adds a C-order float32 array. */
    public NpzWriter add(String name, long[] shape, Values values) throws IOException {
        return add(name, shape, false, values);
    }

    /**
     * Adds a float32 array; with {@code fortranOrder} the values are given column-major (numpy's layout of a
     * transposed view).
     */
    public NpzWriter add(String name, long[] shape, boolean fortranOrder, Values values) throws IOException {
        if (finished) throw new IllegalStateException("archive already finished");
        long count = new NpyHeader("<f4", fortranOrder, shape).count();
        byte[] header = npyHeader(shape, fortranOrder);
        long size = header.length + count * 4;
        String fileName = name + ".npy";
        byte[] nameBytes = fileName.getBytes(StandardCharsets.UTF_8);
        long offset = out.position();

        ByteBuffer local = le(30 + nameBytes.length + 20);
        local.putInt(0x04034b50).putShort((short) 45).putShort((short) 0x800).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0x21).putInt(0)
                .putInt((int) MAX32).putInt((int) MAX32)
                .putShort((short) nameBytes.length).putShort((short) 20).put(nameBytes)
                .putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
        writeFully(local.flip());

        CRC32 crc = new CRC32();
        crc.update(header);
        writeFully(ByteBuffer.wrap(header));
        float[] chunk = new float[(int) Math.min(CHUNK, Math.max(1, count))];
        ByteBuffer bytes = ByteBuffer.allocateDirect(chunk.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long start = 0; start < count; start += chunk.length) {
            int n = (int) Math.min(chunk.length, count - start);
            values.fill(start, chunk, n);
            bytes.clear();
            bytes.asFloatBuffer().put(chunk, 0, n);
            bytes.limit(n * 4);
            crc.update(bytes.duplicate());
            writeFully(bytes);
        }
        ByteBuffer crcField = le(4).putInt((int) crc.getValue()).flip();
        out.write(crcField, offset + 14);
        written.add(new Written(fileName, crc.getValue(), size, offset));
        return this;
    }

    /** Writes the central directory and renames the archive into place. */
    public Path finish() throws IOException {
        if (finished) return target;
        long cdStart = out.position();
        for (Written w : written) {
            byte[] name = w.fileName.getBytes(StandardCharsets.UTF_8);
            boolean bigSize = forceZip64 || w.size >= MAX32;
            boolean bigOffset = forceZip64 || w.offset >= MAX32;
            int extra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
            ByteBuffer c = le(46 + name.length + (extra > 0 ? 4 + extra : 0));
            c.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0x800).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0x21).putInt((int) w.crc)
                    .putInt((int) (bigSize ? MAX32 : w.size)).putInt((int) (bigSize ? MAX32 : w.size))
                    .putShort((short) name.length).putShort((short) (extra > 0 ? 4 + extra : 0)).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0)
                    .putInt((int) (bigOffset ? MAX32 : w.offset)).put(name);
            if (extra > 0) {
                c.putShort((short) 1).putShort((short) extra);
                if (bigSize) c.putLong(w.size).putLong(w.size);
                if (bigOffset) c.putLong(w.offset);
            }
            writeFully(c.flip());
        }
        long cdEnd = out.position();
        long cdSize = cdEnd - cdStart;
        boolean zip64 = forceZip64 || written.size() >= 0xffff || cdStart >= MAX32 || cdSize >= MAX32;
        if (zip64) {
            ByteBuffer z = le(56 + 20);
            z.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(written.size()).putLong(written.size()).putLong(cdSize).putLong(cdStart);
            z.putInt(0x07064b50).putInt(0).putLong(cdEnd).putInt(1);
            writeFully(z.flip());
        }
        ByteBuffer e = le(22);
        int n16 = zip64 ? 0xffff : written.size();
        e.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) n16).putShort((short) n16)
                .putInt((int) (zip64 ? MAX32 : cdSize)).putInt((int) (zip64 ? MAX32 : cdStart)).putShort((short) 0);
        writeFully(e.flip());
        out.force(false);
        out.close();
        dev.loupe.model.io.AtomicFiles.publish(partial, target);
        finished = true;
        return target;
    }

    /** Abandons an unfinished archive: closes and deletes the partial file. */
    @Override public void close() throws IOException {
        if (!finished) {
            out.close();
            Files.deleteIfExists(partial);
        }
    }

    static byte[] npyHeader(long[] shape, boolean fortranOrder) {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) dims.append(d).append(", ");
        if (shape.length > 1) dims.setLength(dims.length() - 2);
        String dict = "{'descr': '<f4', 'fortran_order': " + (fortranOrder ? "True" : "False") + ", 'shape': (" + dims + "), }";
        int total = 10 + dict.length() + 1;
        String text = dict + " ".repeat((64 - total % 64) % 64) + "\n";
        byte[] t = text.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = le(10 + t.length);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0)
                .putShort((short) t.length).put(t);
        return b.array();
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) out.write(b);
    }

    private static ByteBuffer le(int n) { return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN); }
}
