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

    private static Path fixtureNpz() { return Fixtures.tinyA().resolve("sae/params.npz"); }

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
     * offset only exists in zip64 fields. Mapped, never read into the heap.
     */
    @Test void entriesBeyondFourGigabytesAreMapped() throws IOException {
        Path npz = tmp.resolve("big.npz");
        long count = 1_100_000_000L; // 4.4 GB of float32
        byte[] header = NpzWriter.npyHeader(new long[]{count}, false);
        long bigSize = header.length + count * 4;
        byte[] smallNpy = NpzWriter.npyHeader(new long[]{2}, false);
        ByteBuffer small = ByteBuffer.allocate(smallNpy.length + 8).order(ByteOrder.LITTLE_ENDIAN).put(smallNpy).putFloat(3f).putFloat(4f);
        byte[] smallBytes = small.array();
        try (FileChannel ch = FileChannel.open(npz, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
            long off0 = 0;
            ch.write(localHeader("big.npy", bigSize, 0), off0);
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
            ByteBuffer c0 = central("big.npy", bigSize, 0, off0);
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
            NpyArray big = f.array("big");
            assertEquals(count * 4, big.data().byteSize());
            assertEquals(42f, big.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), count * 4 - 4), 0f);
            assertEquals(0f, big.asWeight().get(count / 2), 0f);
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

    static void assertOneLine(Exception e, String mentions) {
        String m = e.getMessage();
        assertTrue(m != null && !m.contains("\n"), "one line: " + m);
        assertTrue(m.contains(mentions), "message should mention " + mentions + ": " + m);
    }
}
