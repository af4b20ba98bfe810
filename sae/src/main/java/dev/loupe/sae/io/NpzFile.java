package dev.loupe.sae.io;

import dev.loupe.model.io.NpyHeader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A NumPy {@code .npz} archive (a zip of {@code .npy} files) read in place. The whole file is memory-mapped;
 * stored entries are returned as slices of that mapping, deflated ones are inflated into off-heap memory
 * owned by this object. Zip64 is supported (Gemma Scope's 1M-wide SAEs are 19 GB, and numpy writes zip64
 * extra fields for every entry). Every offset and size is checked against the file before it is read, so a
 * truncated or corrupt archive fails with a one-line {@link IOException} instead of crashing the JVM.
 */
public final class NpzFile implements AutoCloseable {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int CENTRAL_SIG = 0x02014b50;
    private static final int LOCAL_SIG = 0x04034b50;
    private static final int STORED = 0, DEFLATED = 8;
    private static final long MAX_WINDOW = 1L << 30;
    /** zlib's documented worst-case expansion of deflate: about 1032 output bytes per input byte. */
    private static final long MAX_DEFLATE_RATIO = 1032;

    /** Where one entry lives in the archive. */
    public record Entry(String fileName, int method, long compressedSize, long size, long crc, long localHeaderOffset) {}

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final Map<String, Entry> entries;
    private final Map<String, NpyArray> loaded = new HashMap<>();

    private NpzFile(Path path, Arena arena, MemorySegment file, Map<String, Entry> entries) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.entries = entries;
    }

    /** Maps the archive and reads its central directory. */
    public static NpzFile open(Path path) throws IOException {
        long size = Files.size(path);
        if (size < 22) throw new IOException(path + ": not an npz archive (" + size + " bytes; too short for a zip file)");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new NpzFile(path, arena, seg, readDirectory(path, seg));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }

    /** Array names (entry names without {@code .npy}), in archive order. */
    public Set<String> names() { return Collections.unmodifiableSet(entries.keySet()); }

    public boolean contains(String name) { return entries.containsKey(name); }

    public Entry entry(String name) throws IOException {
        Entry e = entries.get(name);
        if (e == null) throw new IOException(path + ": no array '" + name + "' (has " + String.join(", ", entries.keySet()) + ")");
        return e;
    }

    /** The named array (without {@code .npy}); stored entries are zero-copy, deflated ones are inflated once. */
    public synchronized NpyArray array(String name) throws IOException {
        NpyArray a = loaded.get(name);
        if (a != null) return a;
        Entry e = entry(name);
        String where = path + ": " + e.fileName;
        MemorySegment raw = entryBytes(e, where);
        a = parseNpy(name, raw, where, path);
        loaded.put(name, a);
        return a;
    }

    /** Unmaps the archive and frees inflated entries; arrays obtained from it become unusable. Idempotent. */
    @Override public synchronized void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    // ---- central directory -------------------------------------------------------------------------

    private static Map<String, Entry> readDirectory(Path path, MemorySegment f) throws IOException {
        long size = f.byteSize();
        long eocd = findEocd(f);
        if (eocd < 0) {
            throw new IOException(path + ": not an npz archive or truncated (no zip end-of-central-directory record)");
        }
        long count = u16(f, eocd + 10);
        long cdSize = u32(f, eocd + 12);
        long cdOffset = u32(f, eocd + 16);
        long locator = eocd - 20;
        if (locator >= 0 && f.get(U32, locator) == ZIP64_LOCATOR_SIG) {
            long z = f.get(U64, locator + 8);
            if (z < 0 || z + 56 > locator || f.get(U32, z) != ZIP64_EOCD_SIG) {
                throw new IOException(path + ": corrupt zip64 end-of-central-directory record (offset " + z + ")");
            }
            count = f.get(U64, z + 32);
            cdSize = f.get(U64, z + 40);
            cdOffset = f.get(U64, z + 48);
        } else if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            throw new IOException(path + ": zip64 archive without a zip64 locator (truncated?)");
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > size) {
            throw new IOException(path + ": truncated: central directory at " + cdOffset + " (+" + cdSize
                    + " bytes) lies beyond the end of the file (" + size + " bytes)");
        }
        Map<String, Entry> out = new LinkedHashMap<>();
        long p = cdOffset, end = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p + 46 > end || f.get(U32, p) != CENTRAL_SIG) {
                throw new IOException(path + ": corrupt central directory (entry " + i + " at offset " + p + ")");
            }
            int flags = u16(f, p + 8);
            int method = u16(f, p + 10);
            long crc = u32(f, p + 16);
            long csize = u32(f, p + 20);
            long usize = u32(f, p + 24);
            int nameLen = u16(f, p + 28), extraLen = u16(f, p + 30), commentLen = u16(f, p + 32);
            long local = u32(f, p + 42);
            if (p + 46 + nameLen + extraLen + commentLen > end) {
                throw new IOException(path + ": corrupt central directory (entry " + i + " overruns it)");
            }
            String name = new String(f.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE),
                    (flags & 0x800) != 0 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            long x = p + 46 + nameLen, xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = u16(f, x), len = u16(f, x + 2);
                if (x + 4 + len > xEnd) throw new IOException(path + ": " + name + ": corrupt extra field in central directory");
                if (id == 0x0001) {
                    long q = x + 4, qEnd = q + len;
                    if (usize == 0xffffffffL) { usize = need8(f, q, qEnd, path, name); q += 8; }
                    if (csize == 0xffffffffL) { csize = need8(f, q, qEnd, path, name); q += 8; }
                    if (local == 0xffffffffL) { local = need8(f, q, qEnd, path, name); }
                }
                x += 4 + len;
            }
            if ((flags & 1) != 0) throw new IOException(path + ": " + name + " is encrypted");
            if (method != STORED && method != DEFLATED) {
                throw new IOException(path + ": " + name + " uses zip compression method " + method + " (only stored and deflated are supported)");
            }
            if (method == STORED && csize != usize) {
                throw new IOException(path + ": " + name + ": stored entry with compressed size " + csize + " != size " + usize);
            }
            if (csize < 0 || usize < 0 || local < 0) throw new IOException(path + ": " + name + ": entry size or offset out of range");
            if (!name.endsWith("/")) {
                String key = name.endsWith(".npy") ? name.substring(0, name.length() - 4) : name;
                out.put(key, new Entry(name, method, csize, usize, crc, local));
            }
            p += 46 + nameLen + extraLen + commentLen;
        }
        return out;
    }

    private static long findEocd(MemorySegment f) {
        long size = f.byteSize();
        long first = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 0xffff); p--) {
            if (f.get(U32, p) == EOCD_SIG) {
                if (p + 22 + u16(f, p + 20) == size) return p;
                if (first < 0) first = p;
            }
        }
        return first;
    }

    private static long need8(MemorySegment f, long q, long qEnd, Path path, String name) throws IOException {
        if (q + 8 > qEnd) throw new IOException(path + ": " + name + ": zip64 extra field too short");
        return f.get(U64, q);
    }

    // ---- entry data --------------------------------------------------------------------------------

    private MemorySegment entryBytes(Entry e, String where) throws IOException {
        long size = file.byteSize();
        long h = e.localHeaderOffset;
        if (h + 30 > size || file.get(U32, h) != LOCAL_SIG) {
            throw new IOException(where + ": corrupt archive (no local file header at offset " + h + ")");
        }
        long start = h + 30 + u16(file, h + 26) + u16(file, h + 28);
        if (start + e.compressedSize > size) {
            throw new IOException(where + ": truncated: entry data needs " + e.compressedSize + " bytes at offset " + start
                    + " but the file has " + size + " bytes");
        }
        MemorySegment packed = file.asSlice(start, e.compressedSize);
        if (e.method != STORED) return inflate(packed, e, where);
        // Stored entries are used in place, so nothing else would ever notice a flipped byte (Python's zipfile
        // checks this CRC too). One parallel pass over the mapping, once per entry.
        if (Crc32.of(packed) != e.crc) throw new IOException(where + ": CRC-32 mismatch (corrupt entry)");
        return packed;
    }

    /** Streams a deflated entry into an off-heap buffer, checking its size and CRC. */
    private MemorySegment inflate(MemorySegment packed, Entry e, String where) throws IOException {
        return inflate(packed, e.size, e.crc, where, arena, MAX_WINDOW);
    }

    /**
     * Inflates {@code packed} into a new segment of {@code size} bytes from {@code arena}, handing zlib at most
     * {@code window} bytes of input or output per call (ByteBuffers are int-indexed, entries may exceed 2 GiB).
     * The declared size is checked against what the compressed bytes can possibly hold before anything is
     * allocated, so a corrupt header claiming terabytes fails with one line instead of an OutOfMemoryError.
     */
    static MemorySegment inflate(MemorySegment packed, long size, long expectedCrc, String where, Arena arena, long window) throws IOException {
        long most = maxInflatedSize(packed.byteSize());
        if (size > most) {
            throw new IOException(where + ": the directory declares " + size + " bytes, but " + packed.byteSize()
                    + " deflated bytes can hold at most " + most + " (corrupt header)");
        }
        MemorySegment out;
        try {
            out = arena.allocate(Math.max(1, size), 64).asSlice(0, size);
        } catch (OutOfMemoryError | IllegalArgumentException ex) {
            throw new IOException(where + ": cannot allocate " + size + " bytes to inflate this entry (" + ex.getMessage()
                    + "; raise -XX:MaxDirectMemorySize or store the archive uncompressed)");
        }
        Inflater inf = new Inflater(true);
        CRC32 crc = new CRC32();
        ByteBuffer probe = ByteBuffer.allocate(1);
        try {
            long in = 0, done = 0;
            while (!inf.finished()) {
                if (inf.needsInput() && in < packed.byteSize()) {
                    long n = Math.min(window, packed.byteSize() - in);
                    inf.setInput(packed.asSlice(in, n).asByteBuffer());
                    in += n;
                }
                if (inf.needsDictionary()) throw new IOException(where + ": deflate stream needs a preset dictionary");
                if (done >= size) {
                    // Output is full: the stream must end here without producing more bytes.
                    if (inf.inflate(probe.clear()) > 0) {
                        throw new IOException(where + ": inflates to more than the " + size + " bytes the directory declares");
                    }
                    if (!inf.finished() && inf.needsInput() && in >= packed.byteSize()) {
                        throw new IOException(where + ": truncated deflate stream (no end after " + size + " bytes)");
                    }
                    continue;
                }
                int n = inf.inflate(out.asSlice(done, Math.min(window, size - done)).asByteBuffer());
                if (n > 0) {
                    crc.update(out.asSlice(done, n).asByteBuffer());
                    done += n;
                } else if (inf.needsInput() && in >= packed.byteSize() && !inf.finished()) {
                    // Only now is the input really exhausted: zlib may hold pending output after consuming all of
                    // it (a window that filled up), which the call above has just had room to deliver.
                    throw new IOException(where + ": truncated deflate stream (" + done + " of " + size + " bytes)");
                }
            }
            if (done != size) throw new IOException(where + ": inflated to " + done + " bytes, directory declares " + size);
            if (crc.getValue() != expectedCrc) throw new IOException(where + ": CRC-32 mismatch (corrupt entry)");
            return out;
        } catch (DataFormatException ex) {
            throw new IOException(where + ": corrupt deflate data (" + ex.getMessage() + ")");
        } finally {
            inf.end();
        }
    }

    /**
     * The most a deflate stream of this many bytes can inflate to: zlib documents a limit of 1032:1 (a 258-byte
     * match costs at least 2 bits); the constant covers the block headers of tiny streams.
     */
    static long maxInflatedSize(long deflatedBytes) {
        return deflatedBytes > Long.MAX_VALUE / MAX_DEFLATE_RATIO - 1 ? Long.MAX_VALUE : deflatedBytes * MAX_DEFLATE_RATIO + 1024;
    }

    /** Parses the .npy header at the start of an entry and returns the array over the data that follows. */
    static NpyArray parseNpy(String name, MemorySegment raw, String where, Path source) throws IOException {
        long n = raw.byteSize();
        if (n < 10 || raw.get(ValueLayout.JAVA_BYTE, 0) != (byte) 0x93
                || !new String(raw.asSlice(1, 5).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1).equals("NUMPY")) {
            throw new IOException(where + ": not a .npy array (bad magic)");
        }
        int major = raw.get(ValueLayout.JAVA_BYTE, 6);
        long headerLen, prefix;
        if (major == 1) {
            headerLen = u16(raw, 8);
            prefix = 10;
        } else if (major == 2 || major == 3) {
            if (n < 12) throw new IOException(where + ": truncated .npy header");
            headerLen = u32(raw, 8);
            prefix = 12;
        } else {
            throw new IOException(where + ": unsupported .npy format version " + major);
        }
        if (prefix + headerLen > n) throw new IOException(where + ": truncated .npy header");
        String text = new String(raw.asSlice(prefix, headerLen).toArray(ValueLayout.JAVA_BYTE),
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        NpyHeader h = NpyHeader.parse(text, where);
        int item = h.itemSize();
        if (item < 0) throw new IOException(where + ": unsupported .npy dtype " + h.descr());
        long need;
        try {
            need = Math.multiplyExact(h.count(), item);
        } catch (ArithmeticException ex) {
            throw new IOException(where + ": shape " + h + " is too large");
        }
        long have = n - prefix - headerLen;
        if (have != need) {
            throw new IOException(where + ": " + (have < need ? "truncated" : "corrupt") + ": " + h + " needs " + need
                    + " data bytes, entry has " + have);
        }
        return new NpyArray(name, h, raw.asSlice(prefix + headerLen, need), source);
    }

    private static int u16(MemorySegment s, long off) { return s.get(U16, off) & 0xffff; }

    private static long u32(MemorySegment s, long off) { return s.get(U32, off) & 0xffffffffL; }
}
