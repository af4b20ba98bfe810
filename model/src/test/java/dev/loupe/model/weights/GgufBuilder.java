package dev.loupe.model.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes small GGUF files byte by byte from the format description, for reader tests. */
final class GgufBuilder {
    static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
            STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12;

    private final ByteArrayOutputStream kv = new ByteArrayOutputStream();
    private int kvCount;
    private record Tensor(String name, int type, long[] ne, byte[] data) {}
    private final List<Tensor> tensors = new ArrayList<>();
    private int version = 3;
    private int alignment = 32;

    GgufBuilder version(int v) { version = v; return this; }

    /** Also records general.alignment when not the default. */
    GgufBuilder alignment(int a) {
        alignment = a;
        return u32("general.alignment", a);
    }

    GgufBuilder u8(String k, int v) { return key(k, UINT8).raw(1, v); }
    GgufBuilder i8(String k, int v) { return key(k, INT8).raw(1, v); }
    GgufBuilder u16(String k, int v) { return key(k, UINT16).raw(2, v); }
    GgufBuilder i16(String k, int v) { return key(k, INT16).raw(2, v); }
    GgufBuilder u32(String k, long v) { return key(k, UINT32).raw(4, v); }
    GgufBuilder i32(String k, int v) { return key(k, INT32).raw(4, v); }
    GgufBuilder u64(String k, long v) { return key(k, UINT64).raw(8, v); }
    GgufBuilder i64(String k, long v) { return key(k, INT64).raw(8, v); }
    GgufBuilder f32(String k, float v) { return key(k, FLOAT32).raw(4, Float.floatToRawIntBits(v)); }
    GgufBuilder f64(String k, double v) { return key(k, FLOAT64).raw(8, Double.doubleToRawLongBits(v)); }
    GgufBuilder bool(String k, boolean v) { return key(k, BOOL).raw(1, v ? 1 : 0); }
    GgufBuilder str(String k, String v) { return key(k, STRING).string(v); }

    GgufBuilder strings(String k, String... v) {
        key(k, ARRAY).raw(4, STRING).raw(8, v.length);
        for (String s : v) string(s);
        return this;
    }

    GgufBuilder floats(String k, float... v) {
        key(k, ARRAY).raw(4, FLOAT32).raw(8, v.length);
        for (float f : v) raw(4, Float.floatToRawIntBits(f));
        return this;
    }

    GgufBuilder ints(String k, int elementType, int width, long... v) {
        key(k, ARRAY).raw(4, elementType).raw(8, v.length);
        for (long x : v) raw(width, x);
        return this;
    }

    /** An array of two arrays of INT32. */
    GgufBuilder nested(String k, int[] a, int[] b) {
        key(k, ARRAY).raw(4, ARRAY).raw(8, 2);
        for (int[] inner : new int[][]{a, b}) {
            raw(4, INT32).raw(8, inner.length);
            for (int x : inner) raw(4, x);
        }
        return this;
    }

    GgufBuilder tensor(String name, int ggmlType, long[] ne, byte[] data) {
        tensors.add(new Tensor(name, ggmlType, ne, data));
        return this;
    }

    private GgufBuilder key(String k, int type) {
        kvCount++;
        return string(k).raw(4, type);
    }

    private GgufBuilder string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        raw(8, b.length);
        kv.writeBytes(b);
        return this;
    }

    private GgufBuilder raw(int width, long v) {
        for (int i = 0; i < width; i++) kv.write((int) (v >>> (8 * i)) & 0xff);
        return this;
    }

    byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(le(4, version));
        out.writeBytes(le(8, tensors.size()));
        out.writeBytes(le(8, kvCount));
        out.writeBytes(kv.toByteArray());
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (Tensor t : tensors) {
            byte[] name = t.name.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(le(8, name.length));
            out.writeBytes(name);
            out.writeBytes(le(4, t.ne.length));
            for (long d : t.ne) out.writeBytes(le(8, d));
            out.writeBytes(le(4, t.type));
            out.writeBytes(le(8, offset));
            offsets.add(offset);
            offset = (offset + t.data.length + alignment - 1) / alignment * alignment;
        }
        while (out.size() % alignment != 0) out.write(0);
        long dataStart = out.size();
        for (int i = 0; i < tensors.size(); i++) {
            while (out.size() < dataStart + offsets.get(i)) out.write(0);
            out.writeBytes(tensors.get(i).data);
        }
        return out.toByteArray();
    }

    Path write(Path file) throws IOException {
        Files.write(file, bytes());
        return file;
    }

    private static byte[] le(int width, long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        byte[] out = new byte[width];
        System.arraycopy(b.array(), 0, out, 0, width);
        return out;
    }

    static byte[] f32Bytes(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }
}
