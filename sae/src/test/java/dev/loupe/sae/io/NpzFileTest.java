package dev.loupe.sae.io;

import dev.loupe.model.io.NpyHeader;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import dev.loupe.model.tensor.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpzFileTest {
    @TempDir Path tmp;

    private static Path fixtureNpz() { return Fixtures.file("tiny-a/sae/params.npz"); }

    /** The fixture was written by numpy (stored entries, zip64 extras in local headers); java.util.zip is the independent reader. */
    @Test void storedEntriesMatchJavaUtilZipAndNpy() throws IOException {
        try (NpzFile npz = NpzFile.open(fixtureNpz()); ZipFile zip = new ZipFile(fixtureNpz().toFile())) {
            assertEquals(List.of("W_enc", "W_dec", "b_enc", "b_dec", "threshold"), List.copyOf(npz.names()));
            for (String name : List.of("W_dec", "b_enc", "b_dec", "threshold")) {
                Npy.Array ref = Npy.read(zip.getInputStream(zip.getEntry(name + ".npy")), name);
                NpyArray a = npz.array(name);
                assertFalse(a.header().fortranOrder());
                assertArrayEquals(ref.data(), a.asWeight().toFloatArray(), 0f, name);
            }
            NpyArray enc = npz.array("W_enc");
            assertTrue(enc.header().fortranOrder());
            assertArrayEquals(new long[]{64, 256}, enc.header().shape());
            WeightTensor t = enc.asWeight();
            assertArrayEquals(new long[]{256, 64}, t.shape());
            // Column-major [64, 256] element (i, j) sits at byte offset 4·(j·64 + i) after the header.
            byte[] raw = zip.getInputStream(zip.getEntry("W_enc.npy")).readAllBytes();
            int dataStart = raw.length - 64 * 256 * 4;
            ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            for (int[] ij : new int[][]{{0, 0}, {3, 200}, {63, 255}, {17, 1}}) {
                float expected = bb.getFloat(dataStart + 4 * (ij[1] * 64 + ij[0]));
                assertEquals(expected, t.get((long) ij[1] * 64 + ij[0]), 0f);
            }
        }
    }

    /** Deflated entries written by java.util.zip (np.savez_compressed's layout) are inflated off-heap. */
    @Test void deflatedEntriesAreInflated() throws IOException {
        Path npz = tmp.resolve("compressed.npz");
        Path scratch = tmp.resolve("a.npy");
        float[] a = new float[3 * 1000];
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i) * 3;
        Npy.writeFloats(scratch, a, 3, 1000);
        byte[] aBytes = Files.readAllBytes(scratch);
        Npy.writeFloats(scratch, new float[]{1.5f, -2f}, 2);
        byte[] bBytes = Files.readAllBytes(scratch);
        try (OutputStream out = Files.newOutputStream(npz); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("a.npy"));
            zip.write(aBytes);
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("b.npy"));
            zip.write(bBytes);
            zip.closeEntry();
        }
        try (NpzFile f = NpzFile.open(npz)) {
            assertEquals(8, f.entry("a").method());
            NpyArray arr = f.array("a");
            assertArrayEquals(new long[]{3, 1000}, arr.header().shape());
            assertArrayEquals(a, arr.asWeight().toFloatArray(), 0f);
            assertArrayEquals(new float[]{1.5f, -2f}, f.array("b").asWeight().toFloatArray(), 0f);
            assertTrue(f.array("a") == arr, "inflated once, then reused");
        }
    }

    @Test void corruptDeflateDataIsOneLineError() throws IOException {
        Path npz = tmp.resolve("c.npz");
        Path scratch = tmp.resolve("a.npy");
        float[] a = new float[4000];
        for (int i = 0; i < a.length; i++) a[i] = i * 0.37f;
        Npy.writeFloats(scratch, a, 4000);
        try (OutputStream out = Files.newOutputStream(npz); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("a.npy"));
            zip.write(Files.readAllBytes(scratch));
            zip.closeEntry();
        }
        byte[] bytes = Files.readAllBytes(npz);
        for (int i = 60; i < 200; i++) bytes[i] ^= (byte) 0x5a;
        Files.write(npz, bytes);
        try (NpzFile f = NpzFile.open(npz)) {
            IOException e = assertThrows(IOException.class, () -> f.array("a"));
            assertOneLine(e, "a.npy");
        }
    }

    /** Zip64 end records and central-directory extras (what numpy writes past 4 GB), read back and checked by java.util.zip. */
    @Test void forcedZip64ArchiveRoundTrips() throws IOException {
        Path npz = tmp.resolve("z64.npz");
        try (NpzWriter w = NpzWriter.createZip64(npz)) {
            w.add("W", new long[]{5, 7}, (start, chunk, n) -> { for (int i = 0; i < n; i++) chunk[i] = start + i; });
            w.add("v", new long[]{7}, false, (start, chunk, n) -> { for (int i = 0; i < n; i++) chunk[i] = -(start + i); });
            w.finish();
        }
        assertFalse(Files.exists(tmp.resolve("z64.npz.partial")));
        try (NpzFile f = NpzFile.open(npz); ZipFile zip = new ZipFile(npz.toFile())) {
            float[] w = f.array("W").asWeight().toFloatArray();
            for (int i = 0; i < 35; i++) assertEquals(i, w[i], 0f);
            Npy.Array ref = Npy.read(zip.getInputStream(zip.getEntry("v.npy")), "v");
            assertArrayEquals(ref.data(), f.array("v").asWeight().toFloatArray(), 0f);
        }
    }

    /**
     * A 4.4 GB archive (sparse file: the array's data is a hole) whose second entry starts beyond 4 GiB, so its
     * offset only exists in zip64 fields. Only the small entry is read: reading the big one means checking its
     * CRC-32 over 4.4 GB, see {@link #entriesBeyondFourGigabytesAreMappedAndChecked}.
     */
    @Test void entriesStartingBeyondFourGigabytesAreRead() throws IOException {
        bigSparseArchive(false);
    }

    /**
     * As above, also mapping the 4.4 GB entry, which checks its CRC-32: a full pass over the file (on this VM
     * about 20 s for a sparse file whose holes the kernel must fill, ~1 s when cached). Opt-in.
     */
    @Test void entriesBeyondFourGigabytesAreMappedAndChecked() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("loupe.bigTests"), "set -Dloupe.bigTests=true");
        bigSparseArchive(true);
    }

    private void bigSparseArchive(boolean readBig) throws IOException {
        Path npz = tmp.resolve("big.npz");
        long count = 1_100_000_000L; // 4.4 GB of float32
        byte[] header = NpzWriter.npyHeader(new long[]{count}, false);
        long bigSize = header.length + count * 4;
        byte[] smallNpy = NpzWriter.npyHeader(new long[]{2}, false);
        ByteBuffer small = ByteBuffer.allocate(smallNpy.length + 8).order(ByteOrder.LITTLE_ENDIAN).put(smallNpy).putFloat(3f).putFloat(4f);
        byte[] smallBytes = small.array();
        // The stored entry's CRC-32 is checked on load: compute it independently, streaming the zeros of the hole.
        CRC32 bigCrc = new CRC32();
        if (readBig) {
            bigCrc.update(header);
            byte[] zeros = new byte[1 << 20];
            for (long left = count * 4 - 4; left > 0; left -= zeros.length) bigCrc.update(zeros, 0, (int) Math.min(zeros.length, left));
            bigCrc.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 42f).array());
        }
        try (FileChannel ch = FileChannel.open(npz, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
            long off0 = 0;
            ch.write(localHeader("big.npy", bigSize, bigCrc.getValue()), off0);
            long data0 = off0 + 30 + 7 + 20;
            ch.write(ByteBuffer.wrap(header), data0);
            // The last float of the big array is 42, the rest is a hole of zeros.
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 42f), data0 + bigSize - 4);
            long off1 = data0 + bigSize;
            assertTrue(off1 > 0xffffffffL);
            CRC32 crc = new CRC32();
            crc.update(smallBytes);
            ch.write(localHeader("small.npy", smallBytes.length, crc.getValue()), off1);
            long data1 = off1 + 30 + 9 + 20;
            ch.write(ByteBuffer.wrap(smallBytes), data1);
            long cd = data1 + smallBytes.length;
            ByteBuffer c0 = central("big.npy", bigSize, bigCrc.getValue(), off0);
            ByteBuffer c1 = central("small.npy", smallBytes.length, crc.getValue(), off1);
            int cdSize = c0.remaining() + c1.remaining();
            ch.write(c0, cd);
            ch.write(c1, cd + c0.capacity());
            long z = cd + cdSize;
            ByteBuffer end = ByteBuffer.allocate(56 + 20 + 22).order(ByteOrder.LITTLE_ENDIAN);
            end.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(2).putLong(2).putLong(cdSize).putLong(cd);
            end.putInt(0x07064b50).putInt(0).putLong(z).putInt(1);
            end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) 2).putShort((short) 2)
                    .putInt(cdSize).putInt(-1).putShort((short) 0);
            ch.write(end.flip(), z);
        }
        try (NpzFile f = NpzFile.open(npz)) {
            if (readBig) {
                long start = System.nanoTime();
                NpyArray big = f.array("big");
                System.out.printf("stored 4.4 GB entry: CRC-32 check and map in %.2f s%n", (System.nanoTime() - start) / 1e9);
                assertEquals(count * 4, big.data().byteSize());
                assertEquals(42f, big.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), count * 4 - 4), 0f);
                assertEquals(0f, big.asWeight().get(count / 2), 0f);
            }
            assertArrayEquals(new float[]{3f, 4f}, f.array("small").asWeight().toFloatArray(), 0f);
        }
    }

    private static ByteBuffer localHeader(String name, long size, long crc) {
        ByteBuffer b = ByteBuffer.allocate(30 + name.length() + 20).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0x21)
                .putInt((int) crc).putInt(-1).putInt(-1).putShort((short) name.length()).putShort((short) 20)
                .put(name.getBytes()).putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
        return b.flip();
    }

    private static ByteBuffer central(String name, long size, long crc, long offset) {
        ByteBuffer b = ByteBuffer.allocate(46 + name.length() + 28).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0x21).putInt((int) crc).putInt(-1).putInt(-1)
                .putShort((short) name.length()).putShort((short) 28).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putInt(0).putInt(-1).put(name.getBytes())
                .putShort((short) 1).putShort((short) 24).putLong(size).putLong(size).putLong(offset);
        return b.flip();
    }

    @Test void truncatedArchiveIsOneLineError() throws IOException {
        byte[] all = Files.readAllBytes(fixtureNpz());
        Path cut = tmp.resolve("cut.npz");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        IOException e = assertThrows(IOException.class, () -> NpzFile.open(cut));
        assertOneLine(e, "cut.npz");
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test void archiveWithDirectoryButMissingDataIsOneLineError() throws IOException {
        // Keep the central directory but drop bytes from the middle: entry offsets now point past the data.
        byte[] all = Files.readAllBytes(fixtureNpz());
        int cdStart = (int) (all.length - 22 - (5 * 46 + 9 + 9 + 9 + 9 + 13));
        byte[] shortened = new byte[all.length - 70000];
        System.arraycopy(all, 0, shortened, 0, 60000);
        System.arraycopy(all, 130000, shortened, 60000, all.length - 130000);
        assertTrue(cdStart > 130000);
        Path bad = tmp.resolve("holed.npz");
        Files.write(bad, shortened);
        IOException e = assertThrows(IOException.class, () -> NpzFile.open(bad));
        assertOneLine(e, "holed.npz");
    }

    @Test void badLocalHeaderIsOneLineError() throws IOException {
        byte[] all = Files.readAllBytes(fixtureNpz());
        all[0] = 'X'; // first local header signature
        Path bad = tmp.resolve("bad.npz");
        Files.write(bad, all);
        try (NpzFile f = NpzFile.open(bad)) {
            IOException e = assertThrows(IOException.class, () -> f.array("W_enc"));
            assertOneLine(e, "W_enc.npy");
            assertEquals(256, f.array("b_enc").header().shape()[0], "other entries still readable");
        }
    }

    @Test void badNpyHeaderIsOneLineError() throws IOException {
        byte[] all = Files.readAllBytes(fixtureNpz());
        // Overwrite "<f4" of b_enc's header with an unsupported big-endian type.
        String text = new String(all, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = text.indexOf("<f4", text.indexOf("b_enc.npy"));
        all[at] = '>';
        Path bad = tmp.resolve("dtype.npz");
        Files.write(bad, all);
        fixCrc(bad, "b_enc");
        try (NpzFile f = NpzFile.open(bad)) {
            IOException e = assertThrows(IOException.class, () -> f.array("b_enc"));
            assertOneLine(e, ">f4");
        }
    }

    @Test void notAZipIsOneLineError() throws IOException {
        Path p = tmp.resolve("x.npz");
        Files.write(p, new byte[1000]);
        assertOneLine(assertThrows(IOException.class, () -> NpzFile.open(p)), "x.npz");
        Files.write(p, new byte[3]);
        assertOneLine(assertThrows(IOException.class, () -> NpzFile.open(p)), "x.npz");
    }

    @Test void writerOutputIsReadableByNpyReaderThroughJavaUtilZip() throws IOException {
        Path npz = tmp.resolve("w.npz");
        try (NpzWriter w = NpzWriter.create(npz)) {
            w.add("m", new long[]{2, 3}, (s, c, n) -> { for (int i = 0; i < n; i++) c[i] = 10 * (s + i); });
            w.finish();
        }
        try (ZipFile zip = new ZipFile(npz.toFile())) {
            ZipEntry e = zip.getEntry("m.npy");
            assertEquals(ZipEntry.STORED, e.getMethod());
            Npy.Array a = Npy.read(new ByteArrayInputStream(zip.getInputStream(e).readAllBytes()), "m");
            assertArrayEquals(new int[]{2, 3}, a.shape());
            assertArrayEquals(new float[]{0, 10, 20, 30, 40, 50}, a.data(), 0f);
        }
    }

    // ---- issue 7 §6 ---------------------------------------------------------------------------------

    /** Stored entries are used in place, so their CRC-32 is the only thing that can notice a flipped byte. */
    @Test void aFlippedByteInAStoredEntryFailsItsCrc() throws IOException {
        Path bad = tmp.resolve("flipped.npz");
        Files.copy(fixtureNpz(), bad);
        long at;
        try (NpzFile f = NpzFile.open(bad)) {
            NpzFile.Entry e = f.entry("b_enc");
            byte[] all = Files.readAllBytes(bad);
            int h = (int) e.localHeaderOffset();
            int start = h + 30 + u16(all, h + 26) + u16(all, h + 28);
            at = start + e.size() - 1;
        }
        byte[] all = Files.readAllBytes(bad);
        all[(int) at] ^= 0x01;
        Files.write(bad, all);
        try (NpzFile f = NpzFile.open(bad)) {
            IOException e = assertThrows(IOException.class, () -> f.array("b_enc"));
            assertOneLine(e, "flipped.npz");
            assertTrue(e.getMessage().contains("b_enc.npy") && e.getMessage().contains("CRC-32"), e.getMessage());
            assertEquals(256, f.array("threshold").header().shape()[0], "other entries are intact");
        }
    }

    /** Rewrites an edited stored entry's CRC-32 (local header and central directory) so only the edit is wrong. */
    private static void fixCrc(Path npz, String name) throws IOException {
        NpzFile.Entry e;
        try (NpzFile f = NpzFile.open(npz)) {
            e = f.entry(name);
        }
        byte[] all = Files.readAllBytes(npz);
        int h = (int) e.localHeaderOffset();
        int start = h + 30 + u16(all, h + 26) + u16(all, h + 28);
        CRC32 crc = new CRC32();
        crc.update(all, start, (int) e.size());
        byte[] old = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) e.crc()).array();
        byte[] now = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue()).array();
        int replaced = 0;
        for (int i = 0; i + 4 <= all.length; i++) {
            if (all[i] == old[0] && all[i + 1] == old[1] && all[i + 2] == old[2] && all[i + 3] == old[3]) {
                System.arraycopy(now, 0, all, i, 4);
                replaced++;
            }
        }
        assertEquals(2, replaced, "the CRC occurs in the local header and the central directory");
        Files.write(npz, all);
    }

    private static int u16(byte[] b, int at) { return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8; }

    /** A zip64 size field claiming 2^40 bytes for a few hundred deflated bytes: refused before allocating. */
    @Test void aDeclaredSizeNoDeflateStreamCanHoldIsRefusedBeforeAllocating() throws IOException {
        byte[] npy = npyOfZeros(1000);
        byte[] packed = deflate(npy);
        CRC32 crc = new CRC32();
        crc.update(npy);
        Path npz = tmp.resolve("claims.npz");
        writeSingleDeflated(npz, "a.npy", packed, 1L << 40, crc.getValue());
        try (NpzFile f = NpzFile.open(npz)) {
            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> f.array("a"));
            assertOneLine(e, "claims.npz");
            assertTrue(e.getMessage().contains("a.npy") && e.getMessage().contains("1099511627776"), e.getMessage());
            assertTrue(System.nanoTime() - start < 1_000_000_000L, "no terabyte was zero-filled");
        }
        // The same archive with the true size reads back.
        writeSingleDeflated(npz, "a.npy", packed, npy.length, crc.getValue());
        try (NpzFile f = NpzFile.open(npz)) {
            assertEquals(1000, f.array("a").header().shape()[0]);
        }
    }

    /**
     * The inflater's windows: with output windows smaller than the entry, zlib consumes all input long before it
     * has delivered all output (what made a real >1 GiB entry fail as "truncated" with 1 GiB windows).
     */
    @Test void inflatingAcrossManyWindowsKeepsGoingAfterTheInputRunsOut() throws IOException {
        byte[] npy = npyOfZeros(1 << 18);
        byte[] packed = deflate(npy);
        assertTrue(packed.length < 4096, "the whole stream fits the first input window");
        CRC32 crc = new CRC32();
        crc.update(npy);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = MemorySegment.ofArray(packed);
            for (long window : new long[]{1, 7, 4096, 65536, 1L << 30}) {
                MemorySegment out = NpzFile.inflate(in, npy.length, crc.getValue(), "w", arena, window);
                assertArrayEquals(npy, out.toArray(ValueLayout.JAVA_BYTE), "window " + window);
            }
            IOException cut = assertThrows(IOException.class,
                    () -> NpzFile.inflate(in.asSlice(0, packed.length - 6), npy.length, crc.getValue(), "cut", arena, 4096));
            assertTrue(cut.getMessage().contains("truncated"), cut.getMessage());
            IOException longer = assertThrows(IOException.class,
                    () -> NpzFile.inflate(in, npy.length - 1, crc.getValue(), "long", arena, 4096));
            assertTrue(longer.getMessage().contains("more than"), longer.getMessage());
            IOException wrongCrc = assertThrows(IOException.class,
                    () -> NpzFile.inflate(in, npy.length, crc.getValue() ^ 1, "crc", arena, 4096));
            assertTrue(wrongCrc.getMessage().contains("CRC-32"), wrongCrc.getMessage());
        }
    }

    /** A real deflated entry just over 1 GiB, as np.savez_compressed writes and Python's zipfile reads. */
    @Test void aDeflatedEntryOverOneGibibyteIsRead() throws IOException {
        deflatedEntryOfZerosRoundTrips((1L << 30) + (1 << 20));
    }

    /** Over 2 GiB (int-indexed buffers end there): about 10 s and 2.2 GB of memory, so opt-in. */
    @Test void aDeflatedEntryOverTwoGibibytesIsRead() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("loupe.bigTests"), "set -Dloupe.bigTests=true");
        deflatedEntryOfZerosRoundTrips((1L << 31) + (1 << 20));
    }

    private void deflatedEntryOfZerosRoundTrips(long dataBytes) throws IOException {
        long count = dataBytes / 4;
        byte[] header = NpzWriter.npyHeader(new long[]{count}, false);
        Path npz = tmp.resolve("big-deflated.npz");
        CRC32 crc = new CRC32();
        byte[] zeros = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(npz); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.setLevel(java.util.zip.Deflater.BEST_SPEED);
            zip.putNextEntry(new ZipEntry("z.npy"));
            zip.write(header);
            crc.update(header);
            for (long left = count * 4; left > 0; left -= zeros.length) {
                int n = (int) Math.min(zeros.length, left);
                zip.write(zeros, 0, n);
                crc.update(zeros, 0, n);
            }
            zip.closeEntry();
        }
        assertTrue(Files.size(npz) < 16 << 20, "zeros compress: " + Files.size(npz));
        try (NpzFile f = NpzFile.open(npz)) {
            NpyArray a = f.array("z");
            assertEquals(count * 4, a.data().byteSize());
            assertEquals(0f, a.asWeight().get(count - 1), 0f);
            assertEquals(0f, a.asWeight().get(count / 2), 0f);
        }
    }

    @Test void parallelCrcMatchesJavaUtilZip() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (int trial = 0; trial < 200; trial++) {
            byte[] b = new byte[rnd.nextInt(1, 3000)];
            rnd.nextBytes(b);
            int cut = rnd.nextInt(b.length + 1);
            CRC32 whole = new CRC32(), left = new CRC32(), right = new CRC32();
            whole.update(b);
            left.update(b, 0, cut);
            right.update(b, cut, b.length - cut);
            assertEquals(whole.getValue(), Crc32.combine(left.getValue(), right.getValue(), b.length - cut));
        }
        try (Arena arena = Arena.ofShared()) {
            long n = (150L << 20) + 12345;
            MemorySegment big = arena.allocate(n);
            for (long i = 0; i < n; i += 4093) big.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31));
            CRC32 ref = new CRC32();
            ref.update(big.asByteBuffer());
            assertEquals(ref.getValue(), Crc32.of(big));
        }
    }

    private static byte[] npyOfZeros(int floats) {
        byte[] header = NpzWriter.npyHeader(new long[]{floats}, false);
        return java.util.Arrays.copyOf(header, header.length + 4 * floats);
    }

    private static byte[] deflate(byte[] data) {
        java.util.zip.Deflater d = new java.util.zip.Deflater(java.util.zip.Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!d.finished()) out.write(buf, 0, d.deflate(buf));
        d.end();
        return out.toByteArray();
    }

    /** One deflated entry whose sizes live in a zip64 extra field of the central directory. */
    private static void writeSingleDeflated(Path npz, String name, byte[] packed, long declaredSize, long crc) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(30 + name.length() + packed.length + 46 + name.length() + 20 + 22).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) 8).putShort((short) 0).putShort((short) 0x21)
                .putInt((int) crc).putInt(packed.length).putInt(-1).putShort((short) name.length()).putShort((short) 0)
                .put(name.getBytes()).put(packed);
        int cd = b.position();
        b.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 8)
                .putShort((short) 0).putShort((short) 0x21).putInt((int) crc).putInt(packed.length).putInt(-1)
                .putShort((short) name.length()).putShort((short) 12).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putInt(0).putInt(0).put(name.getBytes())
                .putShort((short) 1).putShort((short) 8).putLong(declaredSize);
        int cdSize = b.position() - cd;
        b.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) 1).putShort((short) 1)
                .putInt(cdSize).putInt(cd).putShort((short) 0);
        Files.write(npz, java.util.Arrays.copyOf(b.array(), b.position()));
    }

    static void assertOneLine(Exception e, String mentions) {
        String m = e.getMessage();
        assertTrue(m != null && !m.contains("\n"), "one line: " + m);
        assertTrue(m.contains(mentions), "message should mention " + mentions + ": " + m);
    }
}
