package dev.loupe.sae.fit;

import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Presents a heap float matrix as an F32 {@link WeightTensor} so the backend's matrix kernels can multiply by it. */
public final class HeapTensor {
    private HeapTensor() {}

    /** {@code values} as {@code [rows, cols]}; shares the array on little-endian machines, copies it otherwise. */
    public static WeightTensor of(String name, float[] values, int rows, int cols) {
        if ((long) rows * cols != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values are not [" + rows + ", " + cols + "]");
        }
        MemorySegment data;
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            data = MemorySegment.ofArray(values);
        } else {
            data = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
            MemorySegment.copy(values, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.length);
        }
        return new WeightTensor(name, DType.F32, new long[]{rows, cols}, data, null);
    }
}
