package dev.loupe.model.tensor;

import dev.loupe.errors.BadInputException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A weight tensor in its stored precision, backed by a (usually memory-mapped) segment that is never
 * copied to the heap. Shapes use the Hugging Face / row-major order: a linear layer is
 * {@code [out_features, in_features]}, rows are contiguous. Quantized rows are whole blocks.
 *
 * @param name   tensor name in its file (for error messages)
 * @param dtype  storage type
 * @param shape  row-major shape, outermost first
 * @param data   little-endian bytes, exactly {@code dtype.bytesFor(numel)} long
 * @param source the file it came from (for error messages), or null for synthesized tensors
 */
public record WeightTensor(String name, DType dtype, long[] shape, MemorySegment data, Path source) {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public WeightTensor {
        shape = shape.clone();
        long expected = dtype.bytesFor(lastDimCheck(name, dtype, shape));
        if (data.byteSize() != expected) {
            throw new BadInputException(where(name, source) + ": " + dtype + " " + Arrays.toString(shape)
                    + " needs " + expected + " bytes, found " + data.byteSize());
        }
    }

    private static long lastDimCheck(String name, DType dtype, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new BadInputException(name + ": negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        if (dtype.quantized() && shape.length > 0 && shape[shape.length - 1] % dtype.blockSize() != 0) {
            throw new BadInputException(name + ": " + dtype + " rows must be multiples of " + dtype.blockSize()
                    + ", shape " + Arrays.toString(shape));
        }
        return n;
    }

    private static String where(String name, Path source) { return source == null ? name : source + ": " + name; }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public int rank() { return shape.length; }

    /** Rows of a 2-D tensor (or 1 for a vector). */
    public int rows() { return shape.length == 1 ? 1 : Math.toIntExact(shape[0]); }

    /** Columns (the contiguous, innermost dimension). */
    public int cols() { return Math.toIntExact(shape[shape.length - 1]); }

    public long rowBytes() { return dtype.bytesFor(cols()); }

    /** Describes where this tensor is, for one-line errors: "file: name". */
    public String describe() { return where(name, source); }

    /** Throws a one-line error naming the file and tensor unless the shape is exactly {@code expected}. */
    public WeightTensor requireShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new BadInputException(describe() + ": shape " + Arrays.toString(shape) + ", expected "
                    + Arrays.toString(expected));
        }
        return this;
    }

    /** Scalar read of element {@code index} (row-major), dequantizing as needed. Slow; for tests and tools. */
    public float get(long index) {
        return switch (dtype) {
            case F32 -> data.get(F32, index * 4);
            case F16 -> Floats.f16ToFloat(data.get(I16, index * 2));
            case BF16 -> Floats.bf16ToFloat(data.get(I16, index * 2));
            case Q8_0 -> {
                long block = index / 32, within = index % 32;
                long base = block * 34;
                float d = Floats.f16ToFloat(data.get(I16, base));
                yield d * data.get(ValueLayout.JAVA_BYTE, base + 2 + within);
            }
            case Q4_0 -> {
                long block = index / 32, within = index % 32;
                long base = block * 18;
                float d = Floats.f16ToFloat(data.get(I16, base));
                int b = data.get(ValueLayout.JAVA_BYTE, base + 2 + (within % 16)) & 0xff;
                int q = within < 16 ? (b & 0x0f) : (b >>> 4);
                yield d * (q - 8);
            }
            case Q4_K, Q5_K, Q6_K -> KQuants.value(dtype, data, index);
        };
    }

    /** Dequantizes row {@code row} into {@code dst[off .. off+cols)}. */
    public void readRow(int row, float[] dst, int off) {
        int cols = cols();
        long base = (long) row * cols;
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, base * 4, dst, off, cols);
            case Q4_K, Q5_K, Q6_K -> KQuants.dequantize(dtype, data, base, cols, dst, off);
            default -> {
                for (int i = 0; i < cols; i++) dst[off + i] = get(base + i);
            }
        }
    }

    /** The whole tensor as floats on the heap. Only for small tensors (norms, tests). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        if (shape.length == 0) return out;
        int rows = Math.toIntExact(numel() / cols());
        for (int r = 0; r < rows; r++) readRow(r, out, r * cols());
        return out;
    }
}
