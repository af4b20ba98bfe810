package dev.loupe.model.weights;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped GGUF file (versions 2 and 3, little-endian): typed metadata read onto the heap, tensors as
 * views of the mapping. Every size and offset in the header is checked against the file size before any
 * tensor is handed out, so a truncated or corrupt file gives a one-line error, never a fault.
 *
 * <p>GGUF dimensions run innermost first ({@code ne[0]} is contiguous); {@link TensorInfo#shape()} and the
 * tensors use row-major order, outermost first, so a linear layer is {@code [out, in]} as in Hugging Face files.
 */
public final class GgufFile implements Closeable {
    /** Header fields: "GGUF", version, tensor count, metadata count. */
    private static final int MIN_HEADER_BYTES = 4 + 4 + 8 + 8;
    private static final int DEFAULT_ALIGNMENT = 32;
    /** ggml's GGML_MAX_DIMS. */
    private static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_NESTING = 8;

    /** GGUF metadata value types, in id order. */
    public enum ValueType { UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 }

    /**
     * One metadata value. Scalars: integers as Long (UINT64 as its raw bits), FLOAT32 as Float, FLOAT64 as
     * Double, BOOL as Boolean, STRING as String. Arrays: {@code long[]} for integer elements, {@code float[]},
     * {@code double[]}, {@code boolean[]}, {@code List<String>}, or {@code List<Value>} for nested arrays.
     */
    private record Value(ValueType type, ValueType elementType, Object value) {}

    /**
     * @param shape    row-major shape (GGUF's {@code ne} reversed)
     * @param ggmlType ggml type id
     * @param offset   byte offset of the data from the start of the file
     * @param byteSize bytes of data, or -1 for types Loupe cannot read
     */
    public record TensorInfo(String name, int ggmlType, long[] shape, long offset, long byteSize) {
        public TensorInfo { shape = shape.clone(); }
        @Override public long[] shape() { return shape.clone(); }
        /** The ggml type's name and id, e.g. "Q4_K (12)". */
        public String typeName() { return GgmlType.name(ggmlType); }
        /** The storage type, or null when Loupe cannot compute with this ggml type. */
        public DType dtype() { return GgmlType.dtype(ggmlType); }
    }

    private final Path path;
    private final int version;
    private final long alignment;
    private final Map<String, Value> metadata;
    private final Map<String, TensorInfo> tensors;
    private final Arena arena;
    private final MemorySegment file;

    private GgufFile(Path path, int version, long alignment, Map<String, Value> metadata, Map<String, TensorInfo> tensors,
                     Arena arena, MemorySegment file) {
        this.path = path;
        this.version = version;
        this.alignment = alignment;
        this.metadata = metadata;
        this.tensors = tensors;
        this.arena = arena;
        this.file = file;
    }

    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < MIN_HEADER_BYTES) {
                throw new IOException(path + ": not a GGUF file: " + size + " bytes, the header alone needs " + MIN_HEADER_BYTES);
            }
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(path, seg, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static GgufFile parse(Path path, MemorySegment seg, Arena arena) throws IOException {
        Cursor in = new Cursor(path, seg);
        byte[] magic = in.bytes(4, "magic");
        if (!Arrays.equals(magic, "GGUF".getBytes(StandardCharsets.US_ASCII))) {
            throw new IOException(path + ": not a GGUF file (magic " + printable(magic) + ", expected \"GGUF\")");
        }
        int version = in.i32("version");
        if (version != 2 && version != 3) {
            if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                throw new IOException(path + ": big-endian GGUF files are not supported");
            }
            throw new IOException(path + ": GGUF version " + Integer.toUnsignedString(version) + " is not supported (expected 2 or 3)");
        }
        long tensorCount = in.count("tensor count", 8 + 4 + 4 + 8);
        long kvCount = in.count("metadata count", 8 + 4 + 1);

        Map<String, Value> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("metadata key #" + i);
            int typeId = in.i32("type of " + key);
            Value v = in.value(key, typeId, 0);
            if (metadata.put(key, v) != null) throw new IOException(path + ": duplicate metadata key " + key);
        }

        long alignment = DEFAULT_ALIGNMENT;
        Value a = metadata.get("general.alignment");
        if (a != null) {
            if (a.type != ValueType.UINT32 && a.type != ValueType.INT32 && a.type != ValueType.UINT64) {
                throw new IOException(path + ": general.alignment must be an integer, found " + a.type);
            }
            alignment = (Long) a.value;
            if (alignment <= 0 || Long.bitCount(alignment) != 1) {
                throw new IOException(path + ": general.alignment " + alignment + " is not a power of two");
            }
        }

        record Raw(String name, int type, long[] ne, long offset) {}
        List<Raw> raws = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("tensor name #" + i);
            int nDims = in.i32("dimension count of " + name);
            if (nDims < 1 || nDims > MAX_DIMS) throw new IOException(path + ": tensor " + name + " has " + nDims + " dimensions (expected 1 to " + MAX_DIMS + ")");
            long[] ne = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                ne[d] = in.i64("dimension " + d + " of " + name);
                if (ne[d] < 0) throw new IOException(path + ": tensor " + name + " has negative dimension " + ne[d]);
            }
            int type = in.i32("type of " + name);
            long offset = in.i64("offset of " + name);
            raws.add(new Raw(name, type, ne, offset));
        }
        long dataStart = alignUp(in.position(), alignment);
        long fileSize = seg.byteSize();
        if (dataStart > fileSize && tensorCount > 0) {
            throw new IOException(path + ": truncated: tensor data should start at byte " + dataStart + ", file is " + fileSize + " bytes");
        }

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Raw r : raws) {
            String where = path + ": tensor " + r.name;
            if (r.offset < 0 || r.offset % alignment != 0) {
                throw new IOException(where + ": data offset " + Long.toUnsignedString(r.offset) + " is not a multiple of the alignment " + alignment);
            }
            long numel = 1;
            for (long d : r.ne) numel = multiply(numel, d, where);
            DType dtype = GgmlType.dtype(r.type);
            long bytes = -1;
            if (dtype != null) {
                if (r.ne[0] % dtype.blockSize() != 0) {
                    throw new IOException(where + ": " + dtype + " needs rows of a multiple of " + dtype.blockSize() + " values, found " + r.ne[0]);
                }
                bytes = multiply(numel / dtype.blockSize(), dtype.blockBytes(), where);
            } else if (r.type < 0 || r.type > 63) {
                throw new IOException(where + ": type id " + Integer.toUnsignedString(r.type) + " is not a ggml type (corrupt header?)");
            }
            long start = dataStart + r.offset;
            long end = start + Math.max(bytes, 0);
            if (start < dataStart || start > fileSize) {
                throw new IOException(where + ": data offset " + Long.toUnsignedString(r.offset) + " lies past the end of the file ("
                        + fileSize + " bytes; truncated?)");
            }
            if (end < start || end > fileSize) {
                throw new IOException(where + ": data [" + start + ", " + end + ") lies past the end of the file (" + fileSize
                        + " bytes; truncated?)");
            }
            long[] shape = new long[r.ne.length];
            for (int d = 0; d < shape.length; d++) shape[d] = r.ne[r.ne.length - 1 - d];
            if (tensors.put(r.name, new TensorInfo(r.name, r.type, shape, start, bytes)) != null) {
                throw new IOException(where + ": duplicate tensor name");
            }
        }
        requireDisjoint(path, tensors.values());
        return new GgufFile(path, version, alignment, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors), arena, seg);
    }

    /** Tensors sharing bytes mean a corrupt header: one tensor's values would silently alias another's. */
    private static void requireDisjoint(Path path, java.util.Collection<TensorInfo> infos) throws IOException {
        List<TensorInfo> sized = new ArrayList<>();
        for (TensorInfo t : infos) if (t.byteSize > 0) sized.add(t);
        sized.sort(java.util.Comparator.comparingLong(TensorInfo::offset));
        for (int i = 1; i < sized.size(); i++) {
            TensorInfo prev = sized.get(i - 1), cur = sized.get(i);
            if (cur.offset < prev.offset + prev.byteSize) {
                throw new IOException(path + ": tensor " + cur.name + " (data at byte " + cur.offset + ") overlaps tensor " + prev.name
                        + " [" + prev.offset + ", " + (prev.offset + prev.byteSize) + ") (corrupt header)");
            }
        }
    }

    private static long alignUp(long x, long alignment) { return (x + alignment - 1) / alignment * alignment; }

    private static long multiply(long a, long b, String where) throws IOException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IOException(where + ": tensor size overflows");
        }
    }

    private static String printable(byte[] b) {
        StringBuilder sb = new StringBuilder("\"");
        for (byte x : b) sb.append(x >= 0x20 && x < 0x7f ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        return sb.append('"').toString();
    }

    /** A bounds-checked little-endian reader over the mapped header. */
    private static final class Cursor {
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        private final Path path;
        private final MemorySegment seg;
        private long pos;

        Cursor(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
        }

        long position() { return pos; }

        private long take(long n, String what) throws IOException {
            if (n < 0 || n > seg.byteSize() - pos) {
                throw new IOException(path + ": truncated or corrupt header: " + what + " needs " + Long.toUnsignedString(n)
                        + " bytes at offset " + pos + ", file is " + seg.byteSize() + " bytes");
            }
            long at = pos;
            pos += n;
            return at;
        }

        long remaining() { return seg.byteSize() - pos; }

        byte u8(String what) throws IOException { return seg.get(ValueLayout.JAVA_BYTE, take(1, what)); }
        short i16(String what) throws IOException { return seg.get(I16, take(2, what)); }
        int i32(String what) throws IOException { return seg.get(I32, take(4, what)); }
        long i64(String what) throws IOException { return seg.get(I64, take(8, what)); }
        float f32(String what) throws IOException { return seg.get(F32, take(4, what)); }
        double f64(String what) throws IOException { return seg.get(F64, take(8, what)); }

        byte[] bytes(long n, String what) throws IOException {
            long at = take(n, what);
            return seg.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE);
        }

        /** A u64 element count that must fit the rest of the file at {@code minBytes} per element. */
        long count(String what, long minBytes) throws IOException {
            long n = i64(what);
            if (n < 0 || (minBytes > 0 && n > remaining() / minBytes)) {
                throw new IOException(path + ": truncated or corrupt header: " + what + " " + Long.toUnsignedString(n)
                        + " cannot fit in the remaining " + remaining() + " bytes");
            }
            return n;
        }

        String string(String what) throws IOException {
            long n = count("length of " + what, 1);
            if (n > Integer.MAX_VALUE - 8) throw new IOException(path + ": corrupt header: " + what + " is " + n + " bytes long");
            return new String(bytes(n, what), StandardCharsets.UTF_8);
        }

        private ValueType type(String key, int id) throws IOException {
            if (id < 0 || id >= ValueType.values().length) throw new IOException(path + ": metadata " + key + " has unknown value type " + id);
            return ValueType.values()[id];
        }

        Value value(String key, int typeId, int depth) throws IOException {
            ValueType t = type(key, typeId);
            return switch (t) {
                case ARRAY -> {
                    if (depth >= MAX_ARRAY_NESTING) throw new IOException(path + ": metadata " + key + " nests arrays too deeply");
                    ValueType et = type(key, i32("element type of " + key));
                    long n = count("length of " + key, minBytes(et));
                    if (n > Integer.MAX_VALUE - 8) throw new IOException(path + ": metadata " + key + " has " + n + " elements");
                    yield new Value(t, et, array(key, et, (int) n, depth));
                }
                default -> new Value(t, null, scalar(key, t));
            };
        }

        private static long minBytes(ValueType t) {
            return switch (t) {
                case UINT8, INT8, BOOL -> 1;
                case UINT16, INT16 -> 2;
                case UINT32, INT32, FLOAT32 -> 4;
                case UINT64, INT64, FLOAT64, STRING -> 8;
                case ARRAY -> 12;
            };
        }

        private Object scalar(String key, ValueType t) throws IOException {
            return switch (t) {
                case UINT8 -> (long) (u8(key) & 0xff);
                case INT8 -> (long) u8(key);
                case UINT16 -> (long) (i16(key) & 0xffff);
                case INT16 -> (long) i16(key);
                case UINT32 -> i32(key) & 0xffffffffL;
                case INT32 -> (long) i32(key);
                case UINT64, INT64 -> i64(key);
                case FLOAT32 -> f32(key);
                case FLOAT64 -> f64(key);
                case BOOL -> u8(key) != 0;
                case STRING -> string(key);
                case ARRAY -> throw new IllegalStateException();
            };
        }

        private Object array(String key, ValueType et, int n, int depth) throws IOException {
            switch (et) {
                case FLOAT32 -> {
                    float[] a = new float[n];
                    for (int i = 0; i < n; i++) a[i] = f32(key);
                    return a;
                }
                case FLOAT64 -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = f64(key);
                    return a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) a[i] = u8(key) != 0;
                    return a;
                }
                case STRING -> {
                    List<String> a = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) a.add(string(key + "[" + i + "]"));
                    return Collections.unmodifiableList(a);
                }
                case ARRAY -> {
                    List<Value> a = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) a.add(value(key + "[" + i + "]", i32("element type of " + key), depth + 1));
                    return Collections.unmodifiableList(a);
                }
                default -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) a[i] = (Long) scalar(key, et);
                    return a;
                }
            }
        }
    }

    // ---- file -------------------------------------------------------------------------------------------

    public Path path() { return path; }

    public int version() { return version; }

    public long alignment() { return alignment; }

    // ---- metadata ---------------------------------------------------------------------------------------

    /** Metadata keys in file order. */
    public Set<String> keys() { return metadata.keySet(); }

    public boolean has(String key) { return metadata.containsKey(key); }

    /** The stored value type of a key (ARRAY for arrays). */
    public ValueType type(String key) { return require(key).type; }

    /** For array keys, the element type. */
    public ValueType elementType(String key) {
        Value v = require(key);
        if (v.type != ValueType.ARRAY) throw wrongType(key, v, "an array");
        return v.elementType;
    }

    public String getString(String key) {
        Value v = require(key);
        if (v.type != ValueType.STRING) throw wrongType(key, v, "a string");
        return (String) v.value;
    }

    public String getString(String key, String dflt) { return has(key) ? getString(key) : dflt; }

    /** Any integer type; UINT64 values above Long.MAX_VALUE are rejected. */
    public long getLong(String key) {
        Value v = require(key);
        if (!isInteger(v.type)) throw wrongType(key, v, "an integer");
        long x = (Long) v.value;
        if (v.type == ValueType.UINT64 && x < 0) throw new BadInputException(path + ": metadata " + key + " = " + Long.toUnsignedString(x) + " is too large");
        return x;
    }

    public long getLong(String key, long dflt) { return has(key) ? getLong(key) : dflt; }

    /** Any integer type whose value fits an int. */
    public int getInt(String key) {
        long x = getLong(key);
        if (x != (int) x) throw new BadInputException(path + ": metadata " + key + " = " + x + " does not fit in an int");
        return (int) x;
    }

    public int getInt(String key, int dflt) { return has(key) ? getInt(key) : dflt; }

    /** FLOAT32, FLOAT64 (narrowed) or an integer type. */
    public float getFloat(String key) {
        Value v = require(key);
        return switch (v.type) {
            case FLOAT32 -> (Float) v.value;
            case FLOAT64 -> (float) (double) (Double) v.value;
            default -> {
                if (!isInteger(v.type)) throw wrongType(key, v, "a number");
                yield (float) getLong(key);
            }
        };
    }

    public float getFloat(String key, float dflt) { return has(key) ? getFloat(key) : dflt; }

    public boolean getBool(String key) {
        Value v = require(key);
        if (v.type != ValueType.BOOL) throw wrongType(key, v, "a bool");
        return (Boolean) v.value;
    }

    public boolean getBool(String key, boolean dflt) { return has(key) ? getBool(key) : dflt; }

    /** An array of strings (e.g. {@code tokenizer.ggml.tokens}), unmodifiable. */
    @SuppressWarnings("unchecked")
    public List<String> getStringArray(String key) {
        Value v = requireArray(key, "an array of strings");
        if (v.elementType != ValueType.STRING) throw wrongType(key, v, "an array of strings");
        return (List<String>) v.value;
    }

    /** An array of FLOAT32 or FLOAT64 (e.g. {@code tokenizer.ggml.scores}), as a fresh float[]. */
    public float[] getFloatArray(String key) {
        Value v = requireArray(key, "an array of floats");
        return switch (v.elementType) {
            case FLOAT32 -> ((float[]) v.value).clone();
            case FLOAT64 -> {
                double[] d = (double[]) v.value;
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
                yield f;
            }
            default -> throw wrongType(key, v, "an array of floats");
        };
    }

    /** An array of any integer type whose values fit an int (e.g. {@code tokenizer.ggml.token_type}). */
    public int[] getIntArray(String key) {
        Value v = requireArray(key, "an array of integers");
        if (!isInteger(v.elementType)) throw wrongType(key, v, "an array of integers");
        long[] l = (long[]) v.value;
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            boolean unsigned64 = v.elementType == ValueType.UINT64;
            if (l[i] != (int) l[i] || (unsigned64 && l[i] < 0)) {
                throw new BadInputException(path + ": metadata " + key + "[" + i + "] = " + l[i] + " does not fit in an int");
            }
            out[i] = (int) l[i];
        }
        return out;
    }

    /** Number of elements of an array key. */
    public int arrayLength(String key) {
        Value v = requireArray(key, "an array");
        return switch (v.value) {
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case List<?> a -> a.size();
            default -> throw new IllegalStateException();
        };
    }

    /** A short printable form of a value (arrays abbreviated), for inspection tools. */
    public String describe(String key) {
        Value v = require(key);
        if (v.type != ValueType.ARRAY) {
            return v.type == ValueType.UINT64 ? Long.toUnsignedString((Long) v.value) : String.valueOf(v.value);
        }
        return "array of " + arrayLength(key) + " " + v.elementType;
    }

    private static boolean isInteger(ValueType t) {
        return switch (t) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    private Value require(String key) {
        Value v = metadata.get(key);
        if (v == null) throw new BadInputException(path + ": metadata key " + key + " is missing");
        return v;
    }

    private Value requireArray(String key, String expected) {
        Value v = require(key);
        if (v.type != ValueType.ARRAY) throw wrongType(key, v, expected);
        return v;
    }

    private IllegalArgumentException wrongType(String key, Value v, String expected) {
        String found = v.type == ValueType.ARRAY ? "array of " + v.elementType : v.type.toString();
        return new BadInputException(path + ": metadata " + key + " is " + found + ", expected " + expected);
    }

    // ---- tensors ----------------------------------------------------------------------------------------

    /** Tensor infos in file order. */
    public List<TensorInfo> tensorInfos() { return List.copyOf(tensors.values()); }

    public boolean hasTensor(String name) { return tensors.containsKey(name); }

    public TensorInfo tensorInfo(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new BadInputException(path + ": tensor " + name + " is missing");
        return t;
    }

    /** The tensor as a view of the mapping (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K). Valid until the file is closed. */
    public WeightTensor tensor(String name) {
        TensorInfo t = tensorInfo(name);
        DType dtype = t.dtype();
        if (dtype == null) {
            throw new BadInputException(path + ": tensor " + name + " has type " + t.typeName()
                    + ", supported: " + GgmlType.supported());
        }
        MemorySegment data = t.byteSize == 0 ? MemorySegment.ofArray(new byte[0]) : file.asSlice(t.offset, t.byteSize);
        return new WeightTensor(name, dtype, t.shape, data, path);
    }

    @Override
    public void close() { arena.close(); }
}
