package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.I;
import static dev.loupe.model.cpu.Vectors.I16;
import static dev.loupe.model.cpu.Vectors.L;
import static dev.loupe.model.cpu.Vectors.LE;

/**
 * IEEE half-precision rows. The Vector API has no half-to-float conversion, so it is done with integer
 * operations and no masks: the exponent and mantissa shifted into float position and scaled by 2^112
 * rebias normal and subnormal values exactly; an all-ones exponent (infinity, NaN) is detected arithmetically
 * and forced to all ones in the float.
 */
final class F16RowKernels implements RowKernels {
    static final F16RowKernels INSTANCE = new F16RowKernels();

    private F16RowKernels() {}

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd,
                       float[] buf) {
        DecodedRows.matVec(this, w, cols, x, xOff, out, outOff, rowStart, rowEnd, buf);
    }

    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        long base = ((long) row * cols + col) * 2;
        int vecEnd = count - count % L;
        int j = 0;
        for (; j < vecEnd; j += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(Vectors.S, w, base + 2L * j, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector magnitude = h.and(0x7fff);
            FloatVector scaled = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
            // magnitude + 0x400 reaches bit 15 exactly when the exponent is 31.
            IntVector infNan = magnitude.add(0x400).lanewise(VectorOperators.ASHR, 15).neg().and(0x7f800000);
            scaled.reinterpretAsInts().or(infNan).or(h.and(0x80000000)).reinterpretAsFloats().intoArray(dst, dstOff + j);
        }
        for (; j < count; j++) dst[dstOff + j] = Float.float16ToFloat(w.get(I16, base + 2L * j));
    }
}
