package dev.loupe.sae.io;

import dev.loupe.model.io.NpyHeader;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * One array of an npz archive: its header and its raw little-endian data, which is a slice of the
 * memory-mapped archive (stored entries) or an off-heap buffer (deflated entries), never a heap copy.
 *
 * @param name   array name inside the archive, without {@code .npy}
 * @param header parsed .npy header
 * @param data   exactly {@code count · itemSize} bytes
 * @param source the archive, for error messages
 */
public record NpyArray(String name, NpyHeader header, MemorySegment data, Path source) {

    /** "file: name", for one-line errors. */
    public String describe() { return source + ": " + name; }

    /**
     * The array as a weight tensor in stored precision, sharing this array's memory. A Fortran-order
     * matrix is returned as its row-major transpose ({@code [cols, rows]}), which is what its bytes are.
     */
    public WeightTensor asWeight() throws IOException {
        DType dtype = switch (header.descr()) {
            case "<f4" -> DType.F32;
            case "<f2" -> DType.F16;
            default -> throw new IOException(describe() + ": dtype " + header.descr()
                    + " not supported for weights (expected <f4 or <f2)");
        };
        long[] shape = header.shape();
        if (header.fortranOrder() && shape.length > 2) {
            throw new IOException(describe() + ": Fortran-order arrays of rank " + shape.length + " are not supported");
        }
        if (header.fortranOrder() && shape.length == 2) shape = new long[]{shape[1], shape[0]};
        return new WeightTensor(name, dtype, shape, data, source);
    }
}
