package dev.loupe.model.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.loupe.model.cpu.PanelKernels.MR;
import static dev.loupe.model.cpu.Vectors.L;

/**
 * {@code out[r, o] = Σ_i x[r, i]·W[o, i]} for many activation rows (prompt processing), compute bound.
 *
 * <p>The activations are packed once per pass of up to {@link #ROWS_PER_PASS} rows, transposed into panels of {@link #PANEL} rows
 * ({@code [i][row]}), so that the kernel can load a vector of rows at a time and broadcast weights. Each work
 * unit is a block of {@link #UNIT_ROWS} weight rows: for every K-block of {@link #KC} columns it decodes that
 * slice of its rows to floats once (into its thread's scratch) and runs the register-blocked kernel against
 * every panel, so each weight is decoded once per pass and each packed panel slice is reused by all the
 * unit's row groups while it sits in L2. Accumulators live in per-thread scratch and are scattered to
 * {@code out} at the end of the unit.
 */
final class PromptMatMul {
    /** Activation rows per packed panel: four vectors. */
    static final int PANEL = 4 * L;
    /** Weight rows per work unit: eight kernel row groups. */
    static final int UNIT_ROWS = 8 * MR;
    /** Columns per K-block; a multiple of the quantization block. */
    static final int KC = 512;
    /**
     * Activation rows per pass: every work unit streams all packed rows of a pass, so a pass is kept small
     * enough (8 panels, 4.7 MB at 2304 columns) to stay in L3; weights are decoded once per pass.
     */
    static final int ROWS_PER_PASS = 8 * PANEL;

    private PromptMatMul() {}

    static void run(Parallel par, Scratch scratch, RowKernels kernels, MemorySegment w, int outDim, int inDim,
                    float[] x, int xOff, int rows, float[] out, int outOff) {
        for (int r0 = 0; r0 < rows; r0 += ROWS_PER_PASS) {
            pass(par, scratch, kernels, w, outDim, inDim, x, xOff + r0 * inDim, Math.min(ROWS_PER_PASS, rows - r0),
                    out, outOff + r0 * outDim);
        }
    }

    private static void pass(Parallel par, Scratch scratch, RowKernels kernels, MemorySegment w, int outDim, int inDim,
                             float[] x, int xOff, int rows, float[] out, int outOff) {
        int panels = ceilDiv(rows, PANEL);
        int kBlocks = ceilDiv(inDim, KC);
        float[] packed = scratch.shared(Math.multiplyExact(panels * PANEL, inDim));
        par.run(panels * kBlocks, 1, (start, end, slot) -> {
            for (int u = start; u < end; u++) pack(x, xOff, rows, inDim, u / kBlocks, u % kBlocks, packed);
        });
        int units = ceilDiv(outDim, UNIT_ROWS);
        par.run(units, 1, (start, end, slot) -> {
            float[] weights = scratch.slot(slot, Scratch.WEIGHTS, UNIT_ROWS * KC);
            float[] acc = scratch.slot(slot, Scratch.ACCUMULATORS, panels * UNIT_ROWS * PANEL);
            for (int u = start; u < end; u++) {
                unit(kernels, w, outDim, inDim, packed, rows, panels, u * UNIT_ROWS, weights, acc, out, outOff);
            }
        });
    }

    /** Copies x rows of panel {@code p}, columns of K-block {@code kb}, to {@code packed[p][i][row]}; pads with zero rows. */
    private static void pack(float[] x, int xOff, int rows, int inDim, int p, int kb, float[] packed) {
        int r0 = p * PANEL;
        int pr = Math.min(PANEL, rows - r0);
        int pw = roundUp(pr, L);
        int i0 = kb * KC, i1 = Math.min(inDim, i0 + KC);
        int base = r0 * inDim;
        for (int i = i0; i < i1; i++) {
            int dst = base + i * pw;
            int src = xOff + r0 * inDim + i;
            for (int r = 0; r < pr; r++) packed[dst + r] = x[src + r * inDim];
            for (int r = pr; r < pw; r++) packed[dst + r] = 0f;
        }
    }

    private static void unit(RowKernels kernels, MemorySegment w, int outDim, int inDim, float[] packed, int rows,
                             int panels, int o0, float[] weights, float[] acc, float[] out, int outOff) {
        int nRows = Math.min(UNIT_ROWS, outDim - o0);
        int groups = ceilDiv(nRows, MR);
        Arrays.fill(acc, 0, panels * UNIT_ROWS * PANEL, 0f);
        for (int i0 = 0; i0 < inDim; i0 += KC) {
            int kc = Math.min(KC, inDim - i0);
            for (int j = 0; j < nRows; j++) kernels.decode(w, inDim, o0 + j, i0, kc, weights, j * KC);
            for (int j = nRows; j < groups * MR; j++) Arrays.fill(weights, j * KC, j * KC + kc, 0f);
            for (int p = 0; p < panels; p++) {
                int pw = roundUp(Math.min(PANEL, rows - p * PANEL), L);
                int b = p * PANEL * inDim + i0 * pw;
                for (int g = 0; g < groups; g++) {
                    int c = (p * UNIT_ROWS + g * MR) * PANEL;
                    int a = g * MR * KC;
                    int v = 0, nv = pw / L;
                    for (; v + 4 <= nv; v += 4) PanelKernels.mul6x4(weights, a, KC, packed, b + v * L, pw, kc, acc, c + v * L, PANEL);
                    if (v + 2 <= nv) {
                        PanelKernels.mul6x2(weights, a, KC, packed, b + v * L, pw, kc, acc, c + v * L, PANEL);
                        v += 2;
                    }
                    if (v < nv) PanelKernels.mul6x1(weights, a, KC, packed, b + v * L, pw, kc, acc, c + v * L, PANEL);
                }
            }
        }
        for (int p = 0; p < panels; p++) {
            int r0 = p * PANEL;
            int pr = Math.min(PANEL, rows - r0);
            for (int r = 0; r < pr; r++) {
                int dst = outOff + (r0 + r) * outDim + o0;
                int src = p * UNIT_ROWS * PANEL + r;
                for (int j = 0; j < nRows; j++) out[dst + j] = acc[src + j * PANEL];
            }
        }
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    static int roundUp(int a, int multiple) { return ceilDiv(a, multiple) * multiple; }
}
