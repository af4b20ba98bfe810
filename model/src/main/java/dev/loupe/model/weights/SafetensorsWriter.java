package dev.loupe.model.weights;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Writes {@code .safetensors} files whose tensor bytes are produced on demand, so multi-gigabyte files never
 * sit on the heap. Chunks are filled by worker threads while the calling thread writes finished chunks in
 * order; the file is written under a temporary name and renamed when complete.
 */
public final class SafetensorsWriter {
    /** Large enough to keep the disk busy, small enough that a few in flight cost little memory. */
    private static final int CHUNK_BYTES = 8 << 20;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SafetensorsWriter() {}

    /** Produces a tensor's bytes: fills {@code dst} with bytes {@code [byteOffset, byteOffset + dst.byteSize())}. */
    @FunctionalInterface
    public interface Content {
        void fill(long byteOffset, MemorySegment dst);
    }

    /** One tensor to write. Only F32, F16 and BF16: safetensors has no ggml block types. */
    public record Tensor(String name, DType dtype, long[] shape, Content content) {
        public Tensor {
            if (dtype.quantized()) throw new BadInputException(name + ": safetensors cannot store " + dtype);
            shape = shape.clone();
        }

        public long byteSize() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return dtype.bytesFor(n);
        }

        /** A tensor from float values, rounded to {@code dtype} (round-to-nearest-even). */
        public static Tensor ofFloats(String name, DType dtype, long[] shape, float[] values) {
            return new Tensor(name, dtype, shape, (offset, dst) -> {
                int width = (int) dtype.bytesFor(1);
                int first = (int) (offset / width);
                int n = (int) (dst.byteSize() / width);
                for (int i = 0; i < n; i++) {
                    float v = values[first + i];
                    switch (dtype) {
                        case F32 -> dst.set(F32, 4L * i, v);
                        case BF16 -> dst.set(I16, 2L * i, Floats.floatToBf16(v));
                        case F16 -> dst.set(I16, 2L * i, Floats.floatToF16(v));
                        default -> throw new IllegalStateException();
                    }
                }
            });
        }

        /** A tensor whose bytes are copied from a segment holding exactly its data. */
        public static Tensor ofBytes(String name, DType dtype, long[] shape, MemorySegment bytes) {
            return new Tensor(name, dtype, shape, (offset, dst) -> MemorySegment.copy(bytes, offset, dst, 0, dst.byteSize()));
        }
    }

    /** Writes {@code tensors} in order, filling chunks on {@code threads} worker threads. */
    public static void write(Path file, Map<String, String> metadata, List<Tensor> tensors, int threads) throws IOException {
        byte[] header = header(metadata, tensors);
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, "safetensors-writer");
            t.setDaemon(true);
            return t;
        });
        try {
            AtomicFiles.write(file, tmp -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                    writeFully(ch, ByteBuffer.wrap(header));
                    writeData(ch, tensors, pool, Math.max(1, threads));
                }
            });
        } finally {
            pool.shutdownNow();
        }
    }

    /** The length-prefixed JSON header, padded with spaces to a multiple of 8 bytes as the reference writer does. */
    static byte[] header(Map<String, String> metadata, List<Tensor> tensors) throws IOException {
        ObjectNode root = dev.loupe.model.io.LoupeJson.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            if (root.has(t.name)) throw new IllegalArgumentException("duplicate tensor name " + t.name);
            ObjectNode e = root.putObject(t.name);
            e.put("dtype", t.dtype.name());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape) shape.add(d);
            long end = offset + t.byteSize();
            e.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] text = dev.loupe.model.io.LoupeJson.MAPPER.writeValueAsBytes(root);
        int padded = (text.length + 7) / 8 * 8;
        byte[] out = new byte[8 + padded];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        System.arraycopy(text, 0, out, 8, text.length);
        Arrays.fill(out, 8 + text.length, out.length, (byte) ' ');
        return out;
    }

    private record Chunk(Tensor tensor, long offset, int length) {}

    private static void writeData(FileChannel ch, List<Tensor> tensors, ExecutorService pool, int threads) throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        for (Tensor t : tensors) {
            long size = t.byteSize();
            for (long off = 0; off < size; off += CHUNK_BYTES) chunks.add(new Chunk(t, off, (int) Math.min(CHUNK_BYTES, size - off)));
        }
        // Two chunks per worker in flight: workers never wait for the disk, memory stays bounded.
        int window = 2 * threads;
        ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
        for (int i = 0; i < window + 1; i++) free.add(ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN));
        ArrayDeque<Future<ByteBuffer>> inFlight = new ArrayDeque<>();
        int next = 0;
        try {
            while (next < chunks.size() || !inFlight.isEmpty()) {
                while (next < chunks.size() && inFlight.size() < window) {
                    Chunk c = chunks.get(next++);
                    ByteBuffer buf = free.poll();
                    inFlight.add(pool.submit(() -> {
                        buf.clear().limit(c.length);
                        c.tensor.content.fill(c.offset, MemorySegment.ofBuffer(buf).asSlice(0, c.length));
                        return buf;
                    }));
                }
                ByteBuffer filled = inFlight.poll().get();
                writeFully(ch, filled);
                free.add(filled);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IOException(cause);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }
}
