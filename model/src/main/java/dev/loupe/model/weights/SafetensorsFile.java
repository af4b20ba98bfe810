package dev.loupe.model.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One memory-mapped {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets}, "__metadata__": {...}}}, then the data region. Every entry is
 * validated against the file size when the file is opened, so no later read can fall off the mapping.
 * Tensors stay in the file's precision; closing the file unmaps them.
 */
public final class SafetensorsFile implements Closeable {
    /** The reference implementation refuses larger headers; a bigger number means a corrupt length. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private record Entry(String dtype, long[] shape, long begin, long end) {}

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new IOException(path + ": not a safetensors file: " + size + " bytes, the header length alone needs 8");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
                throw new IOException(path + ": corrupt safetensors header length " + Long.toUnsignedString(headerLen)
                        + " (expected 1 to " + MAX_HEADER_BYTES + ")");
            }
            if (headerLen > size - 8) {
                throw new IOException(path + ": truncated or corrupt: header length " + headerLen + " does not fit in the file of "
                        + size + " bytes");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8, path);
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(path, new String(headerBuf.array(), StandardCharsets.UTF_8), dataSize, metadata);

            Arena arena = Arena.ofShared();
            try {
                MemorySegment data = dataSize == 0 ? MemorySegment.NULL
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataSize, arena);
                return new SafetensorsFile(path, arena, data, entries, Collections.unmodifiableMap(metadata));
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new IOException(path + ": truncated safetensors header");
            pos += n;
        }
    }

    private static Map<String, Entry> parseHeader(Path path, String text, long dataSize, Map<String, String> metadata) throws IOException {
        JsonNode root;
        try {
            root = dev.loupe.model.io.LoupeJson.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(path + ": safetensors header is not valid JSON: " + dev.loupe.model.io.LoupeJson.describe(e));
        }
        if (root == null || !root.isObject()) throw new IOException(path + ": safetensors header is not a JSON object");
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) throw new IOException(path + ": __metadata__ must be an object of strings");
                for (Map.Entry<String, JsonNode> m : node.properties()) {
                    if (!m.getValue().isTextual()) throw new IOException(path + ": __metadata__." + m.getKey() + " must be a string");
                    metadata.put(m.getKey(), m.getValue().textValue());
                }
                continue;
            }
            entries.put(name, parseEntry(path, name, node, dataSize));
        }
        requireDisjoint(path, entries);
        return entries;
    }

    /**
     * Two tensors sharing bytes mean a corrupt or hand-edited header (the reference implementation requires the
     * entries to tile the data region); accepting them would silently alias one tensor's values to another's.
     */
    private static void requireDisjoint(Path path, Map<String, Entry> entries) throws IOException {
        var byBegin = new java.util.ArrayList<Map.Entry<String, Entry>>();
        for (var e : entries.entrySet()) if (e.getValue().end > e.getValue().begin) byBegin.add(e);
        byBegin.sort(java.util.Comparator.comparingLong((Map.Entry<String, Entry> e) -> e.getValue().begin));
        for (int i = 1; i < byBegin.size(); i++) {
            var prev = byBegin.get(i - 1);
            var cur = byBegin.get(i);
            if (cur.getValue().begin < prev.getValue().end) {
                throw new IOException(path + ": tensor " + cur.getKey() + " data_offsets [" + cur.getValue().begin + ", "
                        + cur.getValue().end + "] overlap tensor " + prev.getKey() + " [" + prev.getValue().begin + ", "
                        + prev.getValue().end + "] (corrupt header)");
            }
        }
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, long dataSize) throws IOException {
        String where = path + ": tensor " + name;
        if (!node.isObject()) throw new IOException(where + ": header entry is not an object");
        JsonNode dtypeNode = node.get("dtype"), shapeNode = node.get("shape"), offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new IOException(where + ": missing or non-string dtype");
        String dtype = dtypeNode.textValue();
        long width = elementBytes(dtype);
        if (width < 0) throw new IOException(where + ": unknown safetensors dtype " + dtype);
        if (shapeNode == null || !shapeNode.isArray()) throw new IOException(where + ": missing shape array");
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new IOException(where + ": shape " + shapeNode + " must hold non-negative integers");
            }
            shape[i] = d.longValue();
            numel = multiply(numel, shape[i], where);
        }
        if (offsetsNode == null || !offsetsNode.isArray() || offsetsNode.size() != 2
                || !offsetsNode.get(0).canConvertToExactIntegral() || !offsetsNode.get(1).canConvertToExactIntegral()
                || !offsetsNode.get(0).canConvertToLong() || !offsetsNode.get(1).canConvertToLong()) {
            throw new IOException(where + ": data_offsets must be two integers [begin, end], found " + offsetsNode);
        }
        long begin = offsetsNode.get(0).longValue(), end = offsetsNode.get(1).longValue();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new IOException(where + ": data_offsets [" + begin + ", " + end + "] lie outside the data region of "
                    + dataSize + " bytes (file truncated or header corrupt)");
        }
        long expected = multiply(numel, width, where);
        if (end - begin != expected) {
            throw new IOException(where + ": " + dtype + " " + Arrays.toString(shape) + " needs " + expected
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        return new Entry(dtype, shape, begin, end);
    }

    private static long multiply(long a, long b, String where) throws IOException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IOException(where + ": tensor size overflows");
        }
    }

    /** Bytes per element for every dtype the format defines (so offsets of any entry can be checked), or -1. */
    private static long elementBytes(String dtype) {
        return switch (dtype) {
            case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3" -> 1;
            case "I16", "U16", "F16", "BF16" -> 2;
            case "I32", "U32", "F32" -> 4;
            case "I64", "U64", "F64" -> 8;
            default -> -1;
        };
    }

    public Path path() { return path; }

    /** Tensor names in header order (without {@code __metadata__}). */
    public Set<String> names() { return Collections.unmodifiableSet(entries.keySet()); }

    public boolean has(String name) { return entries.containsKey(name); }

    /** The free-form string metadata of the header ({@code __metadata__}), possibly empty. */
    public Map<String, String> metadata() { return metadata; }

    /** The stored dtype name of a tensor (e.g. "BF16"), for tensors that may not be loadable. */
    public String dtypeName(String name) { return entry(name).dtype; }

    public long[] shape(String name) { return entry(name).shape.clone(); }

    /** The tensor as a view of the mapping; F32, F16 and BF16 only. Valid until the file is closed. */
    public WeightTensor tensor(String name) {
        Entry e = entry(name);
        DType dtype = switch (e.dtype) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default -> throw new BadInputException(path + ": tensor " + name + " has dtype " + e.dtype
                    + ", expected F32, F16 or BF16");
        };
        MemorySegment slice = e.end == e.begin ? MemorySegment.ofArray(new byte[0]) : data.asSlice(e.begin, e.end - e.begin);
        return new WeightTensor(name, dtype, e.shape, slice, path);
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new BadInputException(path + ": tensor " + name + " is missing");
        return e;
    }

    @Override
    public void close() { arena.close(); }
}
