package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.loupe.model.cpu.Vectors.F;
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

    static FloatVector load(MemorySegment w, long byteOffset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(Vectors.S, w, byteOffset, LE)
                .convertShape(VectorOperators.S2I, Vectors.I, 0);
        IntVector magnitude = h.and(0x7fff);
        FloatVector scaled = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        // magnitude + 0x400 reaches bit 15 exactly when the exponent is 31.
        IntVector infNan = magnitude.add(0x400).lanewise(VectorOperators.ASHR, 15).neg().and(0x7f800000);
        return scaled.reinterpretAsInts().or(infNan).or(h.and(0x80000000)).reinterpretAsFloats();
    }

    static float scalar(MemorySegment w, long byteOffset) {
        return Float.float16ToFloat(w.get(I16, byteOffset));
    }

    @Override
    public void matVec(MemorySegment w, int cols, float[] x, int xOff, float[] out, int outOff, int rowStart, int rowEnd) {
        long rowBytes = 2L * cols;
        int vecEnd = cols - cols % L;
        int o = rowStart;
        // Four rows per pass share each x load and keep four independent streams of loads in flight.
        for (; o + 4 <= rowEnd; o += 4) {
            long b0 = o * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < vecEnd; i += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
                long d = 2L * i;
                s0 = load(w, b0 + d).fma(xv, s0);
                s1 = load(w, b1 + d).fma(xv, s1);
                s2 = load(w, b2 + d).fma(xv, s2);
                s3 = load(w, b3 + d).fma(xv, s3);
            }
            float r0 = s0.reduceLanes(VectorOperators.ADD), r1 = s1.reduceLanes(VectorOperators.ADD);
            float r2 = s2.reduceLanes(VectorOperators.ADD), r3 = s3.reduceLanes(VectorOperators.ADD);
            for (int i = vecEnd; i < cols; i++) {
                float xi = x[xOff + i];
                long d = 2L * i;
                r0 += xi * scalar(w, b0 + d);
                r1 += xi * scalar(w, b1 + d);
                r2 += xi * scalar(w, b2 + d);
                r3 += xi * scalar(w, b3 + d);
            }
            out[outOff + o] = r0;
            out[outOff + o + 1] = r1;
            out[outOff + o + 2] = r2;
            out[outOff + o + 3] = r3;
        }
        for (; o < rowEnd; o++) {
            long b = o * rowBytes;
            FloatVector s = FloatVector.zero(F);
            for (int i = 0; i < vecEnd; i += L) {
                s = load(w, b + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), s);
            }
            float r = s.reduceLanes(VectorOperators.ADD);
            for (int i = vecEnd; i < cols; i++) r += x[xOff + i] * scalar(w, b + 2L * i);
            out[outOff + o] = r;
        }
    }

    @Override
    public void decode(MemorySegment w, int cols, int row, int col, int count, float[] dst, int dstOff) {
        long base = ((long) row * cols + col) * 2;
        int vecEnd = count - count % L;
        int j = 0;
        for (; j < vecEnd; j += L) load(w, base + 2L * j).intoArray(dst, dstOff + j);
        for (; j < count; j++) dst[dstOff + j] = scalar(w, base + 2L * j);
    }
}
