package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;

import static dev.loupe.model.cpu.Vectors.F;
import static dev.loupe.model.cpu.Vectors.L;

/**
 * Register-blocked inner kernels of the matrix-matrix products: {@code C[6 × n] += A[6 × k] · B[k × n]} with n
 * = 4, 2 or 1 vectors. A row r is read at {@code a[aOff + r·aStride + i]} and broadcast; B row i is packed at
 * {@code b[bOff + i·bStride]}; C row r is at {@code c[cOff + r·cStride]}. With 4 vectors the 24 accumulators,
 * 4 B vectors and a broadcast fill most of the 32 AVX-512 registers; each step does 24 FMAs for 4 loads and
 * 6 broadcasts. Written out in full: a loop over rows would keep the accumulators in memory.
 */
final class PanelKernels {
    /** Rows of A per kernel call. */
    static final int MR = 6;

    private PanelKernels() {}

    /** C[6 × 4L] += A[6 × k] · B[k × 4L]. */
    static void mul6x4(float[] a, int aOff, int aStride, float[] b, int bOff, int bStride, int k,
                        float[] c, int cOff, int cStride) {
        int a0 = aOff, a1 = a0 + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride;
        int r0 = cOff, r1 = r0 + cStride, r2 = r1 + cStride, r3 = r2 + cStride, r4 = r3 + cStride, r5 = r4 + cStride;
        FloatVector c00 = FloatVector.fromArray(F, c, r0), c01 = FloatVector.fromArray(F, c, r0 + L),
                c02 = FloatVector.fromArray(F, c, r0 + 2 * L), c03 = FloatVector.fromArray(F, c, r0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, c, r1), c11 = FloatVector.fromArray(F, c, r1 + L),
                c12 = FloatVector.fromArray(F, c, r1 + 2 * L), c13 = FloatVector.fromArray(F, c, r1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, c, r2), c21 = FloatVector.fromArray(F, c, r2 + L),
                c22 = FloatVector.fromArray(F, c, r2 + 2 * L), c23 = FloatVector.fromArray(F, c, r2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, c, r3), c31 = FloatVector.fromArray(F, c, r3 + L),
                c32 = FloatVector.fromArray(F, c, r3 + 2 * L), c33 = FloatVector.fromArray(F, c, r3 + 3 * L);
        FloatVector c40 = FloatVector.fromArray(F, c, r4), c41 = FloatVector.fromArray(F, c, r4 + L),
                c42 = FloatVector.fromArray(F, c, r4 + 2 * L), c43 = FloatVector.fromArray(F, c, r4 + 3 * L);
        FloatVector c50 = FloatVector.fromArray(F, c, r5), c51 = FloatVector.fromArray(F, c, r5 + L),
                c52 = FloatVector.fromArray(F, c, r5 + 2 * L), c53 = FloatVector.fromArray(F, c, r5 + 3 * L);
        for (int i = 0; i < k; i++) {
            int bi = bOff + i * bStride;
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector b2 = FloatVector.fromArray(F, b, bi + 2 * L);
            FloatVector b3 = FloatVector.fromArray(F, b, bi + 3 * L);
            FloatVector s = FloatVector.broadcast(F, a[a0 + i]);
            c00 = b0.fma(s, c00); c01 = b1.fma(s, c01); c02 = b2.fma(s, c02); c03 = b3.fma(s, c03);
            s = FloatVector.broadcast(F, a[a1 + i]);
            c10 = b0.fma(s, c10); c11 = b1.fma(s, c11); c12 = b2.fma(s, c12); c13 = b3.fma(s, c13);
            s = FloatVector.broadcast(F, a[a2 + i]);
            c20 = b0.fma(s, c20); c21 = b1.fma(s, c21); c22 = b2.fma(s, c22); c23 = b3.fma(s, c23);
            s = FloatVector.broadcast(F, a[a3 + i]);
            c30 = b0.fma(s, c30); c31 = b1.fma(s, c31); c32 = b2.fma(s, c32); c33 = b3.fma(s, c33);
            s = FloatVector.broadcast(F, a[a4 + i]);
            c40 = b0.fma(s, c40); c41 = b1.fma(s, c41); c42 = b2.fma(s, c42); c43 = b3.fma(s, c43);
            s = FloatVector.broadcast(F, a[a5 + i]);
            c50 = b0.fma(s, c50); c51 = b1.fma(s, c51); c52 = b2.fma(s, c52); c53 = b3.fma(s, c53);
        }
        c00.intoArray(c, r0); c01.intoArray(c, r0 + L); c02.intoArray(c, r0 + 2 * L); c03.intoArray(c, r0 + 3 * L);
        c10.intoArray(c, r1); c11.intoArray(c, r1 + L); c12.intoArray(c, r1 + 2 * L); c13.intoArray(c, r1 + 3 * L);
        c20.intoArray(c, r2); c21.intoArray(c, r2 + L); c22.intoArray(c, r2 + 2 * L); c23.intoArray(c, r2 + 3 * L);
        c30.intoArray(c, r3); c31.intoArray(c, r3 + L); c32.intoArray(c, r3 + 2 * L); c33.intoArray(c, r3 + 3 * L);
        c40.intoArray(c, r4); c41.intoArray(c, r4 + L); c42.intoArray(c, r4 + 2 * L); c43.intoArray(c, r4 + 3 * L);
        c50.intoArray(c, r5); c51.intoArray(c, r5 + L); c52.intoArray(c, r5 + 2 * L); c53.intoArray(c, r5 + 3 * L);
    }

    /** C[6 × 2L] += A[6 × k] · B[k × 2L]. */
    static void mul6x2(float[] a, int aOff, int aStride, float[] b, int bOff, int bStride, int k,
                        float[] c, int cOff, int cStride) {
        int a0 = aOff, a1 = a0 + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride;
        int r0 = cOff, r1 = r0 + cStride, r2 = r1 + cStride, r3 = r2 + cStride, r4 = r3 + cStride, r5 = r4 + cStride;
        FloatVector c00 = FloatVector.fromArray(F, c, r0), c01 = FloatVector.fromArray(F, c, r0 + L);
        FloatVector c10 = FloatVector.fromArray(F, c, r1), c11 = FloatVector.fromArray(F, c, r1 + L);
        FloatVector c20 = FloatVector.fromArray(F, c, r2), c21 = FloatVector.fromArray(F, c, r2 + L);
        FloatVector c30 = FloatVector.fromArray(F, c, r3), c31 = FloatVector.fromArray(F, c, r3 + L);
        FloatVector c40 = FloatVector.fromArray(F, c, r4), c41 = FloatVector.fromArray(F, c, r4 + L);
        FloatVector c50 = FloatVector.fromArray(F, c, r5), c51 = FloatVector.fromArray(F, c, r5 + L);
        for (int i = 0; i < k; i++) {
            int bi = bOff + i * bStride;
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector s = FloatVector.broadcast(F, a[a0 + i]);
            c00 = b0.fma(s, c00); c01 = b1.fma(s, c01);
            s = FloatVector.broadcast(F, a[a1 + i]);
            c10 = b0.fma(s, c10); c11 = b1.fma(s, c11);
            s = FloatVector.broadcast(F, a[a2 + i]);
            c20 = b0.fma(s, c20); c21 = b1.fma(s, c21);
            s = FloatVector.broadcast(F, a[a3 + i]);
            c30 = b0.fma(s, c30); c31 = b1.fma(s, c31);
            s = FloatVector.broadcast(F, a[a4 + i]);
            c40 = b0.fma(s, c40); c41 = b1.fma(s, c41);
            s = FloatVector.broadcast(F, a[a5 + i]);
            c50 = b0.fma(s, c50); c51 = b1.fma(s, c51);
        }
        c00.intoArray(c, r0); c01.intoArray(c, r0 + L);
        c10.intoArray(c, r1); c11.intoArray(c, r1 + L);
        c20.intoArray(c, r2); c21.intoArray(c, r2 + L);
        c30.intoArray(c, r3); c31.intoArray(c, r3 + L);
        c40.intoArray(c, r4); c41.intoArray(c, r4 + L);
        c50.intoArray(c, r5); c51.intoArray(c, r5 + L);
    }

    /** C[6 × 1L] += A[6 × k] · B[k × 1L]. */
    static void mul6x1(float[] a, int aOff, int aStride, float[] b, int bOff, int bStride, int k,
                        float[] c, int cOff, int cStride) {
        int a0 = aOff, a1 = a0 + aStride, a2 = a1 + aStride, a3 = a2 + aStride, a4 = a3 + aStride, a5 = a4 + aStride;
        int r0 = cOff, r1 = r0 + cStride, r2 = r1 + cStride, r3 = r2 + cStride, r4 = r3 + cStride, r5 = r4 + cStride;
        FloatVector c00 = FloatVector.fromArray(F, c, r0);
        FloatVector c10 = FloatVector.fromArray(F, c, r1);
        FloatVector c20 = FloatVector.fromArray(F, c, r2);
        FloatVector c30 = FloatVector.fromArray(F, c, r3);
        FloatVector c40 = FloatVector.fromArray(F, c, r4);
        FloatVector c50 = FloatVector.fromArray(F, c, r5);
        for (int i = 0; i < k; i++) {
            int bi = bOff + i * bStride;
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector s = FloatVector.broadcast(F, a[a0 + i]);
            c00 = b0.fma(s, c00);
            s = FloatVector.broadcast(F, a[a1 + i]);
            c10 = b0.fma(s, c10);
            s = FloatVector.broadcast(F, a[a2 + i]);
            c20 = b0.fma(s, c20);
            s = FloatVector.broadcast(F, a[a3 + i]);
            c30 = b0.fma(s, c30);
            s = FloatVector.broadcast(F, a[a4 + i]);
            c40 = b0.fma(s, c40);
            s = FloatVector.broadcast(F, a[a5 + i]);
            c50 = b0.fma(s, c50);
        }
        c00.intoArray(c, r0);
        c10.intoArray(c, r1);
        c20.intoArray(c, r2);
        c30.intoArray(c, r3);
        c40.intoArray(c, r4);
        c50.intoArray(c, r5);
    }
}
