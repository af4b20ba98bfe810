package dev.loupe.model.io;

import dev.loupe.errors.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * NumPy {@code .npy} files (format 1.0/2.0/3.0, little-endian {@code <f4}, {@code <i4}, {@code <i8}, C order),
 * read fully onto the heap. For small arrays: references, CLI outputs. Writes go to a temporary name first.
 */
public final class Npy {
    /** An array read from a .npy file: shape and values as float (ints are converted). */
    public record Array(int[] shape, float[] data, int[] ints) {
        public int size() { return data.length; }
        public float get(int... idx) {
            int flat = 0;
            for (int i = 0; i < idx.length; i++) flat = flat * shape[i] + idx[i];
            return data[flat];
        }
    }

    private Npy() {}

    public static Array read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /** Reads one .npy from a stream ({@code where} names it in errors). */
    public static Array read(InputStream in, String where) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8 || magic[0] != (byte) 0x93 || !new String(magic, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY")) {
            throw new IOException(where + ": not a .npy file (bad magic)");
        }
        int major = magic[6];
        int headerLen;
        if (major == 1) {
            byte[] l = in.readNBytes(2);
            if (l.length < 2) throw new IOException(where + ": truncated .npy header");
            headerLen = (l[0] & 0xff) | (l[1] & 0xff) << 8;
        } else {
            byte[] l = in.readNBytes(4);
            if (l.length < 4) throw new IOException(where + ": truncated .npy header");
            headerLen = ByteBuffer.wrap(l).order(ByteOrder.LITTLE_ENDIAN).getInt();
        }
        byte[] hb = in.readNBytes(headerLen);
        if (hb.length < headerLen) throw new IOException(where + ": truncated .npy header");
        NpyHeader h = NpyHeader.parse(new String(hb, StandardCharsets.ISO_8859_1), where);
        if (h.fortranOrder()) throw new IOException(where + ": Fortran-order arrays are not supported here");
        int[] shape = new int[h.shape().length];
        for (int i = 0; i < shape.length; i++) shape[i] = Math.toIntExact(h.shape()[i]);
        long n = h.count();
        int width = switch (h.descr()) {
            case "<f4", "<i4" -> 4;
            case "<i8", "<f8" -> 8;
            default -> throw new IOException(where + ": dtype " + h.descr() + " not supported (expected <f4, <f8, <i4 or <i8)");
        };
        byte[] raw = in.readNBytes(Math.toIntExact(n * width));
        if (raw.length < n * width) {
            throw new IOException(where + ": truncated: " + Arrays.toString(shape) + " " + h.descr() + " needs "
                    + n * width + " data bytes, found " + raw.length);
        }
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[(int) n];
        boolean floats = h.descr().startsWith("<f");
        int[] ints = floats ? null : new int[(int) n];
        for (int i = 0; i < n; i++) {
            switch (h.descr()) {
                case "<f4" -> f[i] = bb.getFloat();
                // float64 references (the Gemma family fixtures) are compared in float32.
                case "<f8" -> f[i] = (float) bb.getDouble();
                case "<i4" -> { ints[i] = bb.getInt(); f[i] = ints[i]; }
                default -> { ints[i] = Math.toIntExact(bb.getLong()); f[i] = ints[i]; }
            }
        }
        return new Array(shape, f, ints);
    }

    public static void writeFloats(Path file, float[] data, int... shape) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) bb.putFloat(v);
        write(file, "<f4", shape, bb.array(), data.length);
    }

    public static void writeInts(Path file, int[] data, int... shape) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : data) bb.putInt(v);
        write(file, "<i4", shape, bb.array(), data.length);
    }

    private static void write(Path file, String descr, int[] shape, byte[] body, int count) throws IOException {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != count) throw new BadInputException(file + ": shape " + Arrays.toString(shape) + " does not hold " + count + " values");
        StringBuilder dims = new StringBuilder();
        for (int d : shape) dims.append(d).append(", ");
        if (shape.length > 1) dims.setLength(dims.length() - 2);
        String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        if (file.getFileName() == null || file.toString().isBlank()) throw new IOException("'" + file + "': not a file name");
        if (Files.isDirectory(file)) throw new IOException(file + ": is a folder, expected a file name");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        String head = header;
        AtomicFiles.write(file, tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                out.write(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
                out.write(head.length() & 0xff);
                out.write(head.length() >>> 8);
                out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                out.write(body);
            }
        });
    }
}
