package dev.loupe.model.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.loupe.model.cpu.PanelKernels.MR;
import static dev.loupe.model.cpu.PromptMatMul.ceilDiv;
import static dev.loupe.model.cpu.PromptMatMul.roundUp;
import static dev.loupe.model.cpu.Vectors.L;

/**
 * {@code out[r, o] = Σ_i x[r, i]·W[i, o]} with W stored {@code [inDim, outDim]} (Gemma Scope's {@code W_enc}),
 * for many rows. W's rows are already contiguous along the output, so a work unit is a tile of {@link #TILE}
 * output columns: per K-block it decodes that {@code [KC × TILE]} slice of W once into its thread's scratch
 * and runs the register-blocked kernel for every group of six x rows, which are broadcast straight from
 * {@code x}. Results accumulate in per-thread scratch and are copied to {@code out} at the end of the tile.
 */
final class KnMatMul {
    /** Output columns per tile: four vectors (at least a quantization block). */
    static final int TILE = Math.max(4 * L, 32);
    /** Rows of W per K-block: the decoded slice (KC × TILE floats) stays in L2 while every row group uses it. */
    static final int KC = 256;
    /** x rows per pass: every tile streams all x rows of a pass, so a pass is kept small enough to stay in L3. */
    static final int ROWS_PER_PASS = 96 * PanelKernels.MR;

    private KnMatMul() {}

    static void run(Parallel par, Scratch scratch, RowKernels kernels, MemorySegment w, int inDim, int outDim,
                    float[] x, int xOff, int rows, float[] out, int outOff) {
        for (int r0 = 0; r0 < rows; r0 += ROWS_PER_PASS) {
            pass(par, scratch, kernels, w, inDim, outDim, x, xOff + r0 * inDim, Math.min(ROWS_PER_PASS, rows - r0),
                    out, outOff + r0 * outDim);
        }
    }

    private static void pass(Parallel par, Scratch scratch, RowKernels kernels, MemorySegment w, int inDim, int outDim,
                             float[] x, int xOff, int rows, float[] out, int outOff) {
        int fullGroups = rows / MR;
        int tailRows = rows - fullGroups * MR;
        // The last, partial group of x rows is copied once, zero-padded to MR rows.
        float[] tail = scratch.shared(MR * inDim);
        if (tailRows > 0) {
            System.arraycopy(x, xOff + fullGroups * MR * inDim, tail, 0, tailRows * inDim);
            Arrays.fill(tail, tailRows * inDim, MR * inDim, 0f);
        }
        int groups = ceilDiv(rows, MR);
        int tiles = ceilDiv(outDim, TILE);
        par.run(tiles, 1, (start, end, slot) -> {
            float[] slice = scratch.slot(slot, Scratch.WEIGHTS, KC * TILE);
            float[] acc = scratch.slot(slot, Scratch.ACCUMULATORS, groups * MR * TILE);
            for (int t = start; t < end; t++) {
                tile(kernels, w, inDim, outDim, x, xOff, rows, tail, t * TILE, slice, acc, out, outOff);
            }
        });
    }

    private static void tile(RowKernels kernels, MemorySegment w, int inDim, int outDim, float[] x, int xOff,
                             int rows, float[] tail, int c0, float[] slice, float[] acc, float[] out, int outOff) {
        int width = Math.min(TILE, outDim - c0);
        int tp = roundUp(width, L);
        int fullGroups = rows / MR;
        int groups = ceilDiv(rows, MR);
        Arrays.fill(acc, 0, groups * MR * tp, 0f);
        for (int i0 = 0; i0 < inDim; i0 += KC) {
            int kc = Math.min(KC, inDim - i0);
            for (int i = 0; i < kc; i++) {
                kernels.decode(w, outDim, i0 + i, c0, width, slice, i * tp);
                for (int j = width; j < tp; j++) slice[i * tp + j] = 0f;
            }
            for (int g = 0; g < groups; g++) {
                float[] a = g < fullGroups ? x : tail;
                int aOff = g < fullGroups ? xOff + g * MR * inDim + i0 : i0;
                int c = g * MR * tp;
                int v = 0, nv = tp / L;
                for (; v + 4 <= nv; v += 4) PanelKernels.mul6x4(a, aOff, inDim, slice, v * L, tp, kc, acc, c + v * L, tp);
                if (v + 2 <= nv) {
                    PanelKernels.mul6x2(a, aOff, inDim, slice, v * L, tp, kc, acc, c + v * L, tp);
                    v += 2;
                }
                if (v < nv) PanelKernels.mul6x1(a, aOff, inDim, slice, v * L, tp, kc, acc, c + v * L, tp);
            }
        }
        for (int r = 0; r < rows; r++) System.arraycopy(acc, r * tp, out, outOff + r * outDim + c0, width);
    }
}
