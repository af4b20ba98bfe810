package dev.loupe.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * The device kernels: element-wise ones one work item per element, reductions (matmul, RMSNorm) one work group per
 * output with a local-memory tree reduction in a fixed order (so results are the same on every run). TornadoVM compiles
 * them to OpenCL C or PTX. Activations live in one arena array {@code a}; offsets, sizes and shapes come in the
 * small parameter arrays {@code ip} (ints) and {@code fp} (floats), which are sent before every launch, so one
 * compiled kernel serves every layer and every chunk size. Work items past the end return at once (the global
 * size is rounded up to a whole number of work groups).
 */
final class Kernels {
    /** Exact tanh-approximate GELU constant, as on the CPU. */
    static final float GELU_C = 0.7978845608028654f;
    /** Stands in for -infinity as the initial running maximum of the online softmax. */
    static final float MINUS_BIG = -3.0e38f;

    private Kernels() {}

    /** {@code a[ip0 + i] = 0} for {@code i < ip1}. */
    static void zero(KernelContext kc, FloatArray a, IntArray ip) {
        int i = kc.globalIdx;
        if (i < ip.get(1)) a.set(ip.get(0) + i, 0f);
    }

    /** {@code a[ip1 + i] = stage[i]} for {@code i < ip2}: a host upload landing in the arena. */
    static void upload(KernelContext kc, FloatArray a, FloatArray stage, IntArray ip) {
        int i = kc.globalIdx;
        if (i < ip.get(2)) a.set(ip.get(1) + i, stage.get(i));
    }

    /** {@code a[ip1 + i] = a[ip0 + i]} for {@code i < ip2} (regions do not overlap). */
    static void copy(KernelContext kc, FloatArray a, IntArray ip) {
        int i = kc.globalIdx;
        if (i < ip.get(2)) a.set(ip.get(1) + i, a.get(ip.get(0) + i));
    }

    /** {@code a[dst + i] += a[src + i]} (ip: src, dst, n). */
    static void add(KernelContext kc, FloatArray a, IntArray ip) {
        int i = kc.globalIdx;
        if (i < ip.get(2)) a.set(ip.get(1) + i, a.get(ip.get(1) + i) + a.get(ip.get(0) + i));
    }

    /** {@code x = cap · tanh(x / cap)} (ip: x, n; fp: cap). */
    static void softcap(KernelContext kc, FloatArray a, IntArray ip, FloatArray fp) {
        int i = kc.globalIdx;
        if (i < ip.get(1)) {
            float cap = fp.get(0);
            int at = ip.get(0) + i;
            a.set(at, cap * TornadoMath.tanh(a.get(at) / cap));
        }
    }

    /** {@code gate = gelu_tanh(gate) · up} (ip: gate, up, n). */
    static void geglu(KernelContext kc, FloatArray a, IntArray ip) {
        int i = kc.globalIdx;
        if (i < ip.get(2)) {
            float x = a.get(ip.get(0) + i);
            float inner = GELU_C * (x + 0.044715f * x * x * x);
            a.set(ip.get(0) + i, 0.5f * x * (1f + TornadoMath.tanh(inner)) * a.get(ip.get(1) + i));
        }
    }

    /** Threads of a matmul work group (one group per output value); a power of two for the tree reduction. */
    static final int MATMUL_GROUP = 128;
    /** Threads of an RMSNorm work group (one group per row); a power of two. */
    static final int NORM_GROUP = 128;
    /** Side of the square tiles of the matrix-matrix kernels (prefill chunks). */
    static final int TILE = 16;
    /** Largest 16-bit decode table (BF16's: sign and 8 exponent bits). */
    static final int HALF_TABLE = 512;

    /**
     * RMSNorm with one work group per row: strided sums of squares, a local tree reduction in a fixed order, then the
     * scaled row (ip: x, out, rows, d, weight offset in vec; fp: eps). {@code x} and {@code out} may be the same.
     */
    static void rmsNorm(KernelContext kc, FloatArray a, FloatArray vec, IntArray ip, FloatArray fp) {
        float[] partial = kc.allocateFloatLocalArray(NORM_GROUP);
        int r = kc.groupIdx;
        int l = kc.localIdx;
        if (r < ip.get(2)) {
            int d = ip.get(3);
            int x = ip.get(0) + r * d;
            int out = ip.get(1) + r * d;
            int w = ip.get(4);
            float ss = 0f;
            for (int i = l; i < d; i += NORM_GROUP) {
                float v = a.get(x + i);
                ss += v * v;
            }
            partial[l] = ss;
            kc.localBarrier();
            for (int stride = NORM_GROUP / 2; stride > 0; stride >>= 1) {
                if (l < stride) partial[l] = partial[l] + partial[l + stride];
                kc.localBarrier();
            }
            float scale = 1f / TornadoMath.sqrt(partial[0] / d + fp.get(0));
            for (int i = l; i < d; i += NORM_GROUP) a.set(out + i, a.get(x + i) * scale * vec.get(w + i));
        }
    }

    /*
     * The matmuls: out[r, o] = Σ_i x[r, i] · W[o, i] over a row range ("part") of W, which sits in one pool.
     * ip: 0 x, 1 out (already moved to the part's first output), 2 rows, 3 the part's outputs, 4 inDim,
     * 5 the part's offset in the pool, 6 the output row stride (all of W's rows), and for 16-bit pools
     * 7 the decode table's offset in the arena, 8 mantissa bits, 9 mantissa mask, 10 exponent mask,
     * 11 the implicit bit, 12 the table's size (DeviceWeights.Precision).
     */

    /**
     * One work group per output value, for decoding (one row): its threads read the weight row with a stride of
     * the group size (neighbouring threads, neighbouring addresses) and add their partial sums in a local tree.
     */
    static void matmul(KernelContext kc, FloatArray a, FloatArray w, IntArray ip) {
        float[] partial = kc.allocateFloatLocalArray(MATMUL_GROUP);
        int g = kc.groupIdx;
        int l = kc.localIdx;
        int outDim = ip.get(3);
        if (g < ip.get(2) * outDim) {
            int inDim = ip.get(4);
            int r = g / outDim;
            int o = g - r * outDim;
            int x = ip.get(0) + r * inDim;
            int wRow = ip.get(5) + o * inDim;
            float s = 0f;
            for (int i = l; i < inDim; i += MATMUL_GROUP) s += a.get(x + i) * w.get(wRow + i);
            partial[l] = s;
            kc.localBarrier();
            for (int stride = MATMUL_GROUP / 2; stride > 0; stride >>= 1) {
                if (l < stride) partial[l] = partial[l] + partial[l + stride];
                kc.localBarrier();
            }
            if (l == 0) a.set(ip.get(1) + r * ip.get(6) + o, partial[0]);
        }
    }

    /** {@link #matmul} on 16-bit weights (BF16 or F16 bits), decoded exactly with the table in local memory. */
    static void matmulHalf(KernelContext kc, FloatArray a, ShortArray w, IntArray ip) {
        float[] partial = kc.allocateFloatLocalArray(MATMUL_GROUP);
        float[] table = kc.allocateFloatLocalArray(HALF_TABLE);
        int g = kc.groupIdx;
        int l = kc.localIdx;
        int tab = ip.get(7);
        int tableSize = ip.get(12);
        for (int t = l; t < tableSize; t += MATMUL_GROUP) table[t] = a.get(tab + t);
        kc.localBarrier();
        int outDim = ip.get(3);
        if (g < ip.get(2) * outDim) {
            int inDim = ip.get(4);
            int mantissaBits = ip.get(8), mantissaMask = ip.get(9), exponentMask = ip.get(10), implicit = ip.get(11);
            int r = g / outDim;
            int o = g - r * outDim;
            int x = ip.get(0) + r * inDim;
            int wRow = ip.get(5) + o * inDim;
            float s = 0f;
            for (int i = l; i < inDim; i += MATMUL_GROUP) {
                int bits = w.get(wRow + i) & 0xFFFF;
                int hi = bits >> mantissaBits;
                int m = bits & mantissaMask;
                if ((hi & exponentMask) != 0) m = m + implicit;
                s += a.get(x + i) * (m * table[hi]);
            }
            partial[l] = s;
            kc.localBarrier();
            for (int stride = MATMUL_GROUP / 2; stride > 0; stride >>= 1) {
                if (l < stride) partial[l] = partial[l] + partial[l + stride];
                kc.localBarrier();
            }
            if (l == 0) a.set(ip.get(1) + r * ip.get(6) + o, partial[0]);
        }
    }

    /**
     * Matrix-matrix product for prefill chunks: a TILE × TILE work group computes a TILE × TILE block of outputs
     * (x: outputs, y: rows), staging TILE-wide slices of x and W in local memory, so each weight is read from
     * global memory once per TILE rows instead of once per row. Each output is summed over i in order.
     */
    static void matmulTiled(KernelContext kc, FloatArray a, FloatArray w, IntArray ip) {
        float[] xs = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        float[] ws = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        int lx = kc.localIdx;
        int ly = kc.localIdy;
        int o = kc.groupIdx * TILE + lx;
        int r = kc.groupIdy * TILE + ly;
        int oLoad = kc.groupIdx * TILE + ly;
        int rows = ip.get(2), outDim = ip.get(3), inDim = ip.get(4);
        int x = ip.get(0), wOff = ip.get(5);
        float s = 0f;
        for (int k0 = 0; k0 < inDim; k0 += TILE) {
            int k = k0 + lx;
            float xv = 0f;
            if (r < rows && k < inDim) xv = a.get(x + r * inDim + k);
            xs[ly * (TILE + 1) + lx] = xv;
            float wv = 0f;
            if (oLoad < outDim && k < inDim) wv = w.get(wOff + oLoad * inDim + k);
            ws[ly * (TILE + 1) + lx] = wv;
            kc.localBarrier();
            for (int kk = 0; kk < TILE; kk++) s += xs[ly * (TILE + 1) + kk] * ws[lx * (TILE + 1) + kk];
            kc.localBarrier();
        }
        if (r < rows && o < outDim) a.set(ip.get(1) + r * ip.get(6) + o, s);
    }

    /** {@link #matmulTiled} on 16-bit weights, decoded while staging the tile. */
    static void matmulTiledHalf(KernelContext kc, FloatArray a, ShortArray w, IntArray ip) {
        float[] xs = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        float[] ws = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        float[] table = kc.allocateFloatLocalArray(HALF_TABLE);
        int lx = kc.localIdx;
        int ly = kc.localIdy;
        int flat = ly * TILE + lx;
        int tab = ip.get(7);
        int tableSize = ip.get(12);
        for (int t = flat; t < tableSize; t += TILE * TILE) table[t] = a.get(tab + t);
        kc.localBarrier();
        int mantissaBits = ip.get(8), mantissaMask = ip.get(9), exponentMask = ip.get(10), implicit = ip.get(11);
        int o = kc.groupIdx * TILE + lx;
        int r = kc.groupIdy * TILE + ly;
        int oLoad = kc.groupIdx * TILE + ly;
        int rows = ip.get(2), outDim = ip.get(3), inDim = ip.get(4);
        int x = ip.get(0), wOff = ip.get(5);
        float s = 0f;
        for (int k0 = 0; k0 < inDim; k0 += TILE) {
            int k = k0 + lx;
            float xv = 0f;
            if (r < rows && k < inDim) xv = a.get(x + r * inDim + k);
            xs[ly * (TILE + 1) + lx] = xv;
            float wv = 0f;
            if (oLoad < outDim && k < inDim) {
                int bits = w.get(wOff + oLoad * inDim + k) & 0xFFFF;
                int hi = bits >> mantissaBits;
                int m = bits & mantissaMask;
                if ((hi & exponentMask) != 0) m = m + implicit;
                wv = m * table[hi];
            }
            ws[ly * (TILE + 1) + lx] = wv;
            kc.localBarrier();
            for (int kk = 0; kk < TILE; kk++) s += xs[ly * (TILE + 1) + kk] * ws[lx * (TILE + 1) + kk];
            kc.localBarrier();
        }
        if (r < rows && o < outDim) a.set(ip.get(1) + r * ip.get(6) + o, s);
    }

    /** RoPE, rotate-half layout, one pair per work item (ip: x, table, rows, heads, half); table = cos then sin. */
    static void rope(KernelContext kc, FloatArray a, IntArray ip) {
        int idx = kc.globalIdx;
        int rows = ip.get(2), heads = ip.get(3), half = ip.get(4);
        if (idx < rows * heads * half) {
            int perRow = heads * half;
            int t = idx / perRow;
            int rem = idx - t * perRow;
            int h = rem / half;
            int i = rem - h * half;
            int b = ip.get(0) + t * heads * 2 * half + h * 2 * half;
            int tab = ip.get(1) + t * half + i;
            float c = a.get(tab);
            float s = a.get(tab + rows * half);
            float x1 = a.get(b + i);
            float x2 = a.get(b + i + half);
            a.set(b + i, x1 * c - x2 * s);
            a.set(b + i + half, x2 * c + x1 * s);
        }
    }

    /**
     * Fused attention for one (head, query) per work item with an online softmax: scaled, soft-capped scores over the
     * visible keys, never stored (ip: q, keys, values, z, rows, p0, heads, kvHeads, headDim, window; fp: scale, cap).
     */
    static void attention(KernelContext kc, FloatArray a, IntArray ip, FloatArray fp) {
        int idx = kc.globalIdx;
        int rows = ip.get(4), heads = ip.get(6);
        if (idx < heads * rows) {
            int p0 = ip.get(5), kvHeads = ip.get(7), hd = ip.get(8), window = ip.get(9);
            float scale = fp.get(0), cap = fp.get(1);
            int h = idx / rows;
            int t = idx - h * rows;
            int qi = p0 + t;
            int lo = qi - window + 1;
            if (lo < 0) lo = 0;
            int kvDim = kvHeads * hd;
            int kh = h / (heads / kvHeads);
            int qo = ip.get(0) + t * heads * hd + h * hd;
            int zo = ip.get(3) + t * heads * hd + h * hd;
            for (int i = 0; i < hd; i++) a.set(zo + i, 0f);
            float m = MINUS_BIG;
            float sum = 0f;
            for (int j = lo; j <= qi; j++) {
                int ko = ip.get(1) + j * kvDim + kh * hd;
                float s = 0f;
                for (int i = 0; i < hd; i++) s += a.get(qo + i) * a.get(ko + i);
                s = s * scale;
                if (cap > 0f) s = cap * TornadoMath.tanh(s / cap);
                float mNew = TornadoMath.max(m, s);
                float corr = TornadoMath.exp(m - mNew);
                float p = TornadoMath.exp(s - mNew);
                sum = sum * corr + p;
                int vo = ip.get(2) + j * kvDim + kh * hd;
                for (int i = 0; i < hd; i++) a.set(zo + i, a.get(zo + i) * corr + p * a.get(vo + i));
                m = mNew;
            }
            float inv = 1f / sum;
            for (int i = 0; i < hd; i++) a.set(zo + i, a.get(zo + i) * inv);
        }
    }

    /**
     * Scaled, soft-capped, unmasked scores {@code [heads, rows, nKeys]}, one per work item
     * (ip: q, keys, scores, rows, p0, heads, kvHeads, headDim; fp: scale, cap).
     */
    static void attentionScores(KernelContext kc, FloatArray a, IntArray ip, FloatArray fp) {
        int idx = kc.globalIdx;
        int rows = ip.get(3), p0 = ip.get(4), heads = ip.get(5);
        int nKeys = p0 + rows;
        if (idx < heads * rows * nKeys) {
            int kvHeads = ip.get(6), hd = ip.get(7);
            int h = idx / (rows * nKeys);
            int rem = idx - h * rows * nKeys;
            int t = rem / nKeys;
            int j = rem - t * nKeys;
            int kh = h / (heads / kvHeads);
            int qo = ip.get(0) + t * heads * hd + h * hd;
            int ko = ip.get(1) + j * kvHeads * hd + kh * hd;
            float s = 0f;
            for (int i = 0; i < hd; i++) s += a.get(qo + i) * a.get(ko + i);
            s = s * fp.get(0);
            float cap = fp.get(1);
            if (cap > 0f) s = cap * TornadoMath.tanh(s / cap);
            a.set(ip.get(2) + idx, s);
        }
    }

    /** Masks (zero outside the causal window) and softmaxes one (head, query) row per work item (ip: scores, rows, p0, heads, window). */
    static void attentionSoftmax(KernelContext kc, FloatArray a, IntArray ip) {
        int idx = kc.globalIdx;
        int rows = ip.get(1), p0 = ip.get(2);
        if (idx < ip.get(3) * rows) {
            int nKeys = p0 + rows;
            int t = idx - (idx / rows) * rows;
            int qi = p0 + t;
            int lo = qi - ip.get(4) + 1;
            if (lo < 0) lo = 0;
            int off = ip.get(0) + idx * nKeys;
            float m = MINUS_BIG;
            for (int j = lo; j <= qi; j++) m = TornadoMath.max(m, a.get(off + j));
            float sum = 0f;
            for (int j = 0; j < nKeys; j++) {
                float e = 0f;
                if (j >= lo && j <= qi) e = TornadoMath.exp(a.get(off + j) - m);
                a.set(off + j, e);
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = lo; j <= qi; j++) a.set(off + j, a.get(off + j) * inv);
        }
    }

    /** {@code z[t, h, i] = Σ_j p[h, t, j] · V[j, kvHead(h), i]}, one output per work item (ip: pattern, values, z, rows, p0, heads, kvHeads, headDim). */
    static void attentionMix(KernelContext kc, FloatArray a, IntArray ip) {
        int idx = kc.globalIdx;
        int rows = ip.get(3), heads = ip.get(5), hd = ip.get(7);
        if (idx < heads * rows * hd) {
            int nKeys = ip.get(4) + rows;
            int kvHeads = ip.get(6);
            int h = idx / (rows * hd);
            int rem = idx - h * rows * hd;
            int t = rem / hd;
            int i = rem - t * hd;
            int kh = h / (heads / kvHeads);
            int p = ip.get(0) + (h * rows + t) * nKeys;
            int v = ip.get(1) + kh * hd + i;
            int kvDim = kvHeads * hd;
            float s = 0f;
            for (int j = 0; j < nKeys; j++) s += a.get(p + j) * a.get(v + j * kvDim);
            a.set(ip.get(2) + t * heads * hd + h * hd + i, s);
        }
    }

    /**
     * SAE pre-activations {@code pre[r, f] = Σ_i x[r, i] · W_enc[i, f] + b[f]}, W_enc as {@code [dIn, dSae]}, or as
     * {@code [dSae, dIn]} when ip3 is 1 (ip: rows, dIn, dSae, transposed).
     */
    static void saeEncode(KernelContext kc, FloatArray x, FloatArray w, FloatArray bias, FloatArray pre, IntArray ip) {
        int idx = kc.globalIdx;
        int dIn = ip.get(1), dSae = ip.get(2);
        if (idx < ip.get(0) * dSae) {
            int r = idx / dSae;
            int f = idx - r * dSae;
            // one loop over strides rather than a loop in each branch of an if
            int strideF = 1;
            int strideI = dSae;
            if (ip.get(3) == 1) {
                strideF = dIn;
                strideI = 1;
            }
            int wf = f * strideF;
            float s = 0f;
            for (int i = 0; i < dIn; i++) s += x.get(r * dIn + i) * w.get(wf + i * strideI);
            pre.set(idx, s + bias.get(f));
        }
    }

    /**
     * JumpReLU (ReLU when ip3 is 0) and compaction, one row per work item: active features of row r go to
     * {@code out[r·(1 + 2·cap) ...]} as count, then (id, value) pairs, at most {@code cap}; the count may exceed cap,
     * telling the host to read that row densely (ip: rows, dSae, cap, useThreshold).
     */
    static void saeCompact(KernelContext kc, FloatArray pre, FloatArray threshold, FloatArray out, IntArray ip) {
        int r = kc.globalIdx;
        if (r < ip.get(0)) {
            int dSae = ip.get(1), cap = ip.get(2);
            int useThreshold = ip.get(3);
            int base = r * (1 + 2 * cap);
            int count = 0;
            for (int f = 0; f < dSae; f++) {
                float v = pre.get(r * dSae + f);
                // ReLU is JumpReLU with threshold 0 (the threshold array is then a single unused value)
                float thr = 0f;
                if (useThreshold == 1) thr = threshold.get(f);
                if (v > 0f && v > thr) {
                    if (count < cap) {
                        out.set(base + 1 + 2 * count, f);
                        out.set(base + 2 + 2 * count, v);
                    }
                    count++;
                }
            }
            out.set(base, count);
        }
    }
}
