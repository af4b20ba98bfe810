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
    static void zero(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int i = kc.globalIdx;
        if (i < ip.get(base + 1)) a.set(ip.get(base + 0) + i, 0f);
    }

    /**
     * Does nothing unless asked ({@code ip1 > 0}: it rewrites {@code w[ip0]} unchanged): names a pool in the first
     * graph so that TornadoVM gives it a device buffer there, which later graphs take over.
     */
    static void keep(KernelContext kc, FloatArray w, IntArray ip, int base) {
        if (kc.globalIdx < ip.get(base + 1)) w.set(ip.get(base), w.get(ip.get(base)));
    }

    /** {@link #keep} for a 16-bit pool. */
    static void keepHalf(KernelContext kc, ShortArray w, IntArray ip, int base) {
        if (kc.globalIdx < ip.get(base + 1)) w.set(ip.get(base), w.get(ip.get(base)));
    }

    /** {@code a[ip1 + i] = stage[i]} for {@code i < ip2}: a host upload landing in the arena. */
    static void upload(KernelContext kc, FloatArray a, FloatArray stage, IntArray ip, int base) {
        int i = kc.globalIdx;
        if (i < ip.get(base + 2)) a.set(ip.get(base + 1) + i, stage.get(i));
    }

    /** {@code a[ip1 + i] = a[ip0 + i]} for {@code i < ip2} (regions do not overlap). */
    static void copy(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int i = kc.globalIdx;
        if (i < ip.get(base + 2)) a.set(ip.get(base + 1) + i, a.get(ip.get(base + 0) + i));
    }

    /** {@code a[dst + i] += a[src + i]} (ip: src, dst, n). */
    static void add(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int i = kc.globalIdx;
        if (i < ip.get(base + 2)) a.set(ip.get(base + 1) + i, a.get(ip.get(base + 1) + i) + a.get(ip.get(base + 0) + i));
    }

    /** {@code x = cap · tanh(x / cap)} (ip: x, n; fp: cap). */
    static void softcap(KernelContext kc, FloatArray a, IntArray ip, FloatArray fp, int base) {
        int i = kc.globalIdx;
        if (i < ip.get(base + 1)) {
            float cap = fp.get(0);
            int at = ip.get(base + 0) + i;
            a.set(at, cap * TornadoMath.tanh(a.get(at) / cap));
        }
    }

    /** {@code gate = gelu_tanh(gate) · up} (ip: gate, up, n). */
    static void geglu(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int i = kc.globalIdx;
        if (i < ip.get(base + 2)) {
            float x = a.get(ip.get(base + 0) + i);
            float inner = GELU_C * (x + 0.044715f * x * x * x);
            a.set(ip.get(base + 0) + i, 0.5f * x * (1f + TornadoMath.tanh(inner)) * a.get(ip.get(base + 1) + i));
        }
    }

    /** Threads of an RMSNorm work group (one group per row); a power of two. */
    static final int NORM_GROUP = 128;
    /** Side of the square tiles of the matrix-matrix kernels (prefill chunks). */
    static final int TILE = 16;
    /** Threads of a matmul work group: one TILE × TILE tile, or one output's strided sum (a power of two). */
    static final int MATMUL_LOCAL = TILE * TILE;
    /** Largest 16-bit decode table (BF16's: sign and 8 exponent bits). */
    static final int HALF_TABLE = 512;

    /**
     * RMSNorm with one work group per row: strided sums of squares, a local tree reduction in a fixed order, then the
     * scaled row (ip: x, out, rows, d, weight offset in vec; fp: eps). {@code x} and {@code out} may be the same.
     */
    static void rmsNorm(KernelContext kc, FloatArray a, FloatArray vec, IntArray ip, FloatArray fp, int base) {
        float[] partial = kc.allocateFloatLocalArray(NORM_GROUP);
        int r = kc.groupIdx;
        int l = kc.localIdx;
        if (r < ip.get(base + 2)) {
            int d = ip.get(base + 3);
            int x = ip.get(base + 0) + r * d;
            int out = ip.get(base + 1) + r * d;
            int w = ip.get(base + 4);
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
     * ip (from base): 0 x, 1 out (already moved to the part's first output), 2 rows, 3 the part's outputs, 4 inDim,
     * 5 the part's offset in the pool, 6 the output row stride (all of W's rows), and for 16-bit pools
     * 7 the decode table's offset in the arena, 8 mantissa bits, 9 mantissa mask, 10 exponent mask,
     * 11 the implicit bit, 12 the table's size (DeviceWeights.Precision). Work groups of MATMUL_LOCAL threads.
     * Fused matmuls (q/k/v, gate/up: matrices packed one after another, one launch) send outputs past the first
     * segment elsewhere: 13 the first segment's outputs n0 (all of them when not fused), 14 where the second
     * segment goes, 15 its outputs n1, 16 where the third goes (the rest); each segment's row stride is its width.
     */

    /** Work groups a matmul over {@code outputs} × {@code rows} runs: one per output when decoding, else one per tile. */
    static long matmulGroups(int outputs, int rows) {
        if (rows == 1) return outputs;
        return (long) ((outputs + TILE - 1) / TILE) * ((rows + TILE - 1) / TILE);
    }

    /**
     * One matmul over a part: rows == 1 (decoding) runs one work group per output, whose threads read the weight row
     * with a stride of the group size (neighbouring threads, neighbouring addresses) and add their partial sums in a
     * local tree; rows > 1 (prefill chunks) runs TILE × TILE tiles of (outputs, rows), staging TILE-wide slices of x
     * and W in local memory so each weight is read from global memory once per TILE rows, each output summed over i in
     * order. One kernel for both, so one task serves decoding and prefill ({@link #matmulGroups} gives the groups).
     */
    static void matmul(KernelContext kc, FloatArray a, FloatArray w, IntArray ip, int base) {
        float[] partial = kc.allocateFloatLocalArray(MATMUL_LOCAL);
        float[] xs = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        float[] ws = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        int g = kc.groupIdx;
        int l = kc.localIdx;
        int x = ip.get(base), out = ip.get(base + 1), rows = ip.get(base + 2), outDim = ip.get(base + 3);
        int inDim = ip.get(base + 4), wOff = ip.get(base + 5), stride = ip.get(base + 6);
        int n0 = ip.get(base + 13), out1 = ip.get(base + 14), n1 = ip.get(base + 15), out2 = ip.get(base + 16);
        if (rows == 1) {
            if (g < outDim) {
                int wRow = wOff + g * inDim;
                float s = 0f;
                for (int i = l; i < inDim; i += MATMUL_LOCAL) {
                    s += a.get(x + i) * w.get(wRow + i);
                }
                partial[l] = s;
                kc.localBarrier();
                for (int half = MATMUL_LOCAL / 2; half > 0; half >>= 1) {
                    if (l < half) partial[l] = partial[l] + partial[l + half];
                    kc.localBarrier();
                }
                if (l == 0) {
                    int at = out + g;
                    if (g >= n0) {
                        if (g < n0 + n1) at = out1 + g - n0;
                        else at = out2 + g - n0 - n1;
                    }
                    a.set(at, partial[0]);
                }
            }
        } else if (outDim > 0) {
            int tilesX = (outDim + TILE - 1) / TILE;
            int gy = g / tilesX;
            int gx = g - gy * tilesX;
            int ly = l / TILE;
            int lx = l - ly * TILE;
            int o = gx * TILE + lx;
            int r = gy * TILE + ly;
            int oLoad = gx * TILE + ly;
            float s = 0f;
            for (int k0 = 0; k0 < inDim; k0 += TILE) {
                int k = k0 + lx;
                float xv = 0f;
                if (r < rows && k < inDim) xv = a.get(x + r * inDim + k);
                xs[ly * (TILE + 1) + lx] = xv;
                float wv = 0f;
                if (oLoad < outDim && k < inDim) {
                    wv = w.get(wOff + oLoad * inDim + k);
                }
                ws[ly * (TILE + 1) + lx] = wv;
                kc.localBarrier();
                for (int kk = 0; kk < TILE; kk++) s += xs[ly * (TILE + 1) + kk] * ws[lx * (TILE + 1) + kk];
                kc.localBarrier();
            }
            if (r < rows && o < outDim) {
                int at = out + r * stride + o;
                if (o >= n0) {
                    if (o < n0 + n1) at = out1 + r * n1 + o - n0;
                    else at = out2 + r * (outDim - n0 - n1) + o - n0 - n1;
                }
                a.set(at, s);
            }
        }
    }

    /** {@link #matmul} on 16-bit weights (BF16 or F16 bits), decoded exactly with the table copied to local memory. */
    static void matmulHalf(KernelContext kc, FloatArray a, ShortArray w, IntArray ip, int base) {
        float[] partial = kc.allocateFloatLocalArray(MATMUL_LOCAL);
        float[] xs = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        float[] ws = kc.allocateFloatLocalArray(TILE * (TILE + 1));
        float[] table = kc.allocateFloatLocalArray(HALF_TABLE);
        int g = kc.groupIdx;
        int l = kc.localIdx;
        int tab = ip.get(base + 7);
        int tableSize = ip.get(base + 12);
        for (int t = l; t < tableSize; t += MATMUL_LOCAL) table[t] = a.get(tab + t);
        kc.localBarrier();
        int mantissaBits = ip.get(base + 8), mantissaMask = ip.get(base + 9), exponentMask = ip.get(base + 10);
        int implicit = ip.get(base + 11);
        int x = ip.get(base), out = ip.get(base + 1), rows = ip.get(base + 2), outDim = ip.get(base + 3);
        int inDim = ip.get(base + 4), wOff = ip.get(base + 5), stride = ip.get(base + 6);
        int n0 = ip.get(base + 13), out1 = ip.get(base + 14), n1 = ip.get(base + 15), out2 = ip.get(base + 16);
        if (rows == 1) {
            if (g < outDim) {
                int wRow = wOff + g * inDim;
                float s = 0f;
                for (int i = l; i < inDim; i += MATMUL_LOCAL) {
                    int bits = w.get(wRow + i) & 0xFFFF;
                    int hi = bits >> mantissaBits;
                    int m = bits & mantissaMask;
                    if ((hi & exponentMask) != 0) m = m + implicit;
                    s += a.get(x + i) * (m * table[hi]);
                }
                partial[l] = s;
                kc.localBarrier();
                for (int half = MATMUL_LOCAL / 2; half > 0; half >>= 1) {
                    if (l < half) partial[l] = partial[l] + partial[l + half];
                    kc.localBarrier();
                }
                if (l == 0) {
                    int at = out + g;
                    if (g >= n0) {
                        if (g < n0 + n1) at = out1 + g - n0;
                        else at = out2 + g - n0 - n1;
                    }
                    a.set(at, partial[0]);
                }
            }
        } else if (outDim > 0) {
            int tilesX = (outDim + TILE - 1) / TILE;
            int gy = g / tilesX;
            int gx = g - gy * tilesX;
            int ly = l / TILE;
            int lx = l - ly * TILE;
            int o = gx * TILE + lx;
            int r = gy * TILE + ly;
            int oLoad = gx * TILE + ly;
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
            if (r < rows && o < outDim) {
                int at = out + r * stride + o;
                if (o >= n0) {
                    if (o < n0 + n1) at = out1 + r * n1 + o - n0;
                    else at = out2 + r * (outDim - n0 - n1) + o - n0 - n1;
                }
                a.set(at, s);
            }
        }
    }

    /**
     * The matmul for CPU OpenCL devices (PoCL): one work item per output value, summing over i in order. A CPU device
     * runs a work group as a loop over its work items, split at every barrier, so the group kernels' tree reductions
     * cost there far more than they save; here the device vectorises across work items instead. Same ip as
     * {@link #matmul}, work items rows × outputs.
     */
    static void matmulItem(KernelContext kc, FloatArray a, FloatArray w, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 2), outDim = ip.get(base + 3);
        if (idx < rows * outDim) {
            int inDim = ip.get(base + 4);
            int r = idx / outDim;
            int o = idx - r * outDim;
            int x = ip.get(base) + r * inDim;
            int wRow = ip.get(base + 5) + o * inDim;
            float s = 0f;
            for (int i = 0; i < inDim; i++) s += a.get(x + i) * w.get(wRow + i);
            int n0 = ip.get(base + 13), n1 = ip.get(base + 15);
            int at = ip.get(base + 1) + r * ip.get(base + 6) + o;
            if (o >= n0) {
                if (o < n0 + n1) at = ip.get(base + 14) + r * n1 + o - n0;
                else at = ip.get(base + 16) + r * (outDim - n0 - n1) + o - n0 - n1;
            }
            a.set(at, s);
        }
    }

    /** {@link #matmulItem} on 16-bit weights, decoded with the table in the arena. */
    static void matmulItemHalf(KernelContext kc, FloatArray a, ShortArray w, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 2), outDim = ip.get(base + 3);
        if (idx < rows * outDim) {
            int inDim = ip.get(base + 4);
            int tab = ip.get(base + 7);
            int mantissaBits = ip.get(base + 8), mantissaMask = ip.get(base + 9), exponentMask = ip.get(base + 10);
            int implicit = ip.get(base + 11);
            int r = idx / outDim;
            int o = idx - r * outDim;
            int x = ip.get(base) + r * inDim;
            int wRow = ip.get(base + 5) + o * inDim;
            float s = 0f;
            for (int i = 0; i < inDim; i++) {
                int bits = w.get(wRow + i) & 0xFFFF;
                int hi = bits >> mantissaBits;
                int m = bits & mantissaMask;
                if ((hi & exponentMask) != 0) m = m + implicit;
                s += a.get(x + i) * (m * a.get(tab + hi));
            }
            int n0 = ip.get(base + 13), n1 = ip.get(base + 15);
            int at = ip.get(base + 1) + r * ip.get(base + 6) + o;
            if (o >= n0) {
                if (o < n0 + n1) at = ip.get(base + 14) + r * n1 + o - n0;
                else at = ip.get(base + 16) + r * (outDim - n0 - n1) + o - n0 - n1;
            }
            a.set(at, s);
        }
    }

    /**
     * One embedding row, scaled, from an FP32 pool: {@code out[i] = scale · E[row, i]} (ip from base: 0 out, 1 the
     * row's offset in this pool, or -1 when the row sits in another pool (then nothing happens), 2 d; fp: scale).
     */
    static void embedRow(KernelContext kc, FloatArray a, FloatArray w, IntArray ip, FloatArray fp, int base) {
        int i = kc.globalIdx;
        int at = ip.get(base + 1);
        if (at >= 0 && i < ip.get(base + 2)) a.set(ip.get(base) + i, fp.get(0) * w.get(at + i));
    }

    /**
     * {@link #embedRow} from a 16-bit pool (ip from base: 3 the decode table's offset in the arena, 4 mantissa bits,
     * 5 mantissa mask, 6 exponent mask, 7 the implicit bit).
     */
    static void embedRowHalf(KernelContext kc, FloatArray a, ShortArray w, IntArray ip, FloatArray fp, int base) {
        int i = kc.globalIdx;
        int at = ip.get(base + 1);
        if (at >= 0 && i < ip.get(base + 2)) {
            int bits = w.get(at + i) & 0xFFFF;
            int hi = bits >> ip.get(base + 4);
            int m = bits & ip.get(base + 5);
            if ((hi & ip.get(base + 6)) != 0) m = m + ip.get(base + 7);
            a.set(ip.get(base) + i, fp.get(0) * (m * a.get(ip.get(base + 3) + hi)));
        }
    }

    /**
     * RoPE, rotate-half layout, one pair per work item (ip: x, table, rows, heads, half, sinDelta): the cos rows of the
     * chunk's positions from {@code table}, the sin rows {@code sinDelta} further.
     */
    static void rope(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 2), heads = ip.get(base + 3), half = ip.get(base + 4);
        if (idx < rows * heads * half) {
            int perRow = heads * half;
            int t = idx / perRow;
            int rem = idx - t * perRow;
            int h = rem / half;
            int i = rem - h * half;
            int b = ip.get(base + 0) + t * heads * 2 * half + h * 2 * half;
            int tab = ip.get(base + 1) + t * half + i;
            float c = a.get(tab);
            float s = a.get(tab + ip.get(base + 5));
            float x1 = a.get(b + i);
            float x2 = a.get(b + i + half);
            a.set(b + i, x1 * c - x2 * s);
            a.set(b + i + half, x2 * c + x1 * s);
        }
    }

    /** Threads of an attention work group: the keys of one block, one per thread. A power of two. */
    static final int ATT_GROUP = 64;
    /** Largest head dimension the attention kernels hold in local memory. */
    static final int HEAD_DIM_MAX = 512;

    /**
     * Fused attention with an online softmax, one work group per (head, query, split of the visible keys): scaled,
     * soft-capped scores, never stored. The group walks its keys in blocks of {@link #ATT_GROUP}: each thread scores
     * one key against the query (held in local memory), the block's maximum and sum come from fixed-order tree
     * reductions, and each thread updates its own dimensions of the output from the block's probabilities (reading
     * value rows with neighbouring threads on neighbouring addresses). With one split the group writes z; with several
     * (flash-decoding: a long cache split over many groups) it writes its maximum, sum and unnormalised output to the
     * scratch region for {@link #attentionCombine}.
     * ip (from base): 0 q, 1 keys, 2 values, 3 z, 4 rows, 5 p0, 6 heads, 7 kvHeads, 8 headDim, 9 window,
     * 10 keys per split, 11 splits, 12 scratch; fp: scale, cap.
     */
    static void attention(KernelContext kc, FloatArray a, IntArray ip, FloatArray fp, int base) {
        float[] query = kc.allocateFloatLocalArray(HEAD_DIM_MAX);
        float[] acc = kc.allocateFloatLocalArray(HEAD_DIM_MAX);
        float[] prob = kc.allocateFloatLocalArray(ATT_GROUP);
        float[] red = kc.allocateFloatLocalArray(ATT_GROUP);
        int g = kc.groupIdx;
        int l = kc.localIdx;
        int rows = ip.get(base + 4), heads = ip.get(base + 6), splits = ip.get(base + 11);
        if (g < heads * rows * splits) {
            int p0 = ip.get(base + 5), kvHeads = ip.get(base + 7), hd = ip.get(base + 8), window = ip.get(base + 9);
            int splitKeys = ip.get(base + 10);
            float scale = fp.get(0), cap = fp.get(1);
            int ht = g / splits;
            int sp = g - ht * splits;
            int h = ht / rows;
            int t = ht - h * rows;
            int qi = p0 + t;
            int lo = qi - window + 1;
            if (lo < 0) lo = 0;
            int first = lo + sp * splitKeys;
            int last = first + splitKeys - 1;
            if (last > qi) last = qi;
            int kvDim = kvHeads * hd;
            int kh = h / (heads / kvHeads);
            int qo = ip.get(base) + t * heads * hd + h * hd;
            int keys = ip.get(base + 1) + kh * hd;
            int values = ip.get(base + 2) + kh * hd;
            for (int i = l; i < hd; i += ATT_GROUP) {
                query[i] = a.get(qo + i);
                acc[i] = 0f;
            }
            kc.localBarrier();
            float m = MINUS_BIG;
            float sum = 0f;
            for (int start = first; start <= last; start += ATT_GROUP) {
                int j = start + l;
                float s = MINUS_BIG;
                if (j <= last) {
                    int ko = keys + j * kvDim;
                    float dot = 0f;
                    for (int i = 0; i < hd; i++) dot += query[i] * a.get(ko + i);
                    s = dot * scale;
                    if (cap > 0f) s = cap * TornadoMath.tanh(s / cap);
                }
                red[l] = s;
                kc.localBarrier();
                for (int stride = ATT_GROUP / 2; stride > 0; stride >>= 1) {
                    if (l < stride) red[l] = TornadoMath.max(red[l], red[l + stride]);
                    kc.localBarrier();
                }
                float mNew = TornadoMath.max(m, red[0]);
                float corr = TornadoMath.exp(m - mNew);
                float p = 0f;
                if (j <= last) p = TornadoMath.exp(s - mNew);
                kc.localBarrier();
                prob[l] = p;
                red[l] = p;
                kc.localBarrier();
                for (int stride = ATT_GROUP / 2; stride > 0; stride >>= 1) {
                    if (l < stride) red[l] = red[l] + red[l + stride];
                    kc.localBarrier();
                }
                sum = sum * corr + red[0];
                int n = last - start + 1;
                if (n > ATT_GROUP) n = ATT_GROUP;
                for (int i = l; i < hd; i += ATT_GROUP) {
                    float v = 0f;
                    for (int k = 0; k < n; k++) v += prob[k] * a.get(values + (start + k) * kvDim + i);
                    acc[i] = acc[i] * corr + v;
                }
                m = mNew;
                kc.localBarrier();
            }
            if (splits == 1) {
                int zo = ip.get(base + 3) + t * heads * hd + h * hd;
                float inv = 1f / sum;
                for (int i = l; i < hd; i += ATT_GROUP) a.set(zo + i, acc[i] * inv);
            } else {
                int out = ip.get(base + 12) + g * (hd + 2);
                if (l == 0) {
                    a.set(out, m);
                    a.set(out + 1, sum);
                }
                for (int i = l; i < hd; i += ATT_GROUP) a.set(out + 2 + i, acc[i]);
            }
        }
    }

    /**
     * Merges the splits {@link #attention} wrote for each (head, query), in split order: one work group per (head,
     * query), threads over dimensions. Nothing to do with one split (the same ip as {@link #attention}).
     */
    static void attentionCombine(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int g = kc.groupIdx;
        int l = kc.localIdx;
        int rows = ip.get(base + 4), heads = ip.get(base + 6), splits = ip.get(base + 11);
        if (splits > 1 && g < heads * rows) {
            int hd = ip.get(base + 8);
            int h = g / rows;
            int t = g - h * rows;
            int scratch = ip.get(base + 12) + g * splits * (hd + 2);
            float m = MINUS_BIG;
            for (int sp = 0; sp < splits; sp++) m = TornadoMath.max(m, a.get(scratch + sp * (hd + 2)));
            float den = 0f;
            for (int sp = 0; sp < splits; sp++) {
                int at = scratch + sp * (hd + 2);
                den += TornadoMath.exp(a.get(at) - m) * a.get(at + 1);
            }
            float inv = 1f / den;
            int zo = ip.get(base + 3) + t * heads * hd + h * hd;
            for (int i = l; i < hd; i += ATT_GROUP) {
                float z = 0f;
                for (int sp = 0; sp < splits; sp++) {
                    int at = scratch + sp * (hd + 2);
                    z += TornadoMath.exp(a.get(at) - m) * a.get(at + 2 + i);
                }
                a.set(zo + i, z * inv);
            }
        }
    }

    /**
     * Scaled, soft-capped, unmasked scores {@code [heads, rows, nKeys]}, one per work item
     * (ip: q, keys, scores, rows, p0, heads, kvHeads, headDim; fp: scale, cap).
     */
    static void attentionScores(KernelContext kc, FloatArray a, IntArray ip, FloatArray fp, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 3), p0 = ip.get(base + 4), heads = ip.get(base + 5);
        int nKeys = p0 + rows;
        if (idx < heads * rows * nKeys) {
            int kvHeads = ip.get(base + 6), hd = ip.get(base + 7);
            int h = idx / (rows * nKeys);
            int rem = idx - h * rows * nKeys;
            int t = rem / nKeys;
            int j = rem - t * nKeys;
            int kh = h / (heads / kvHeads);
            int qo = ip.get(base + 0) + t * heads * hd + h * hd;
            int ko = ip.get(base + 1) + j * kvHeads * hd + kh * hd;
            float s = 0f;
            for (int i = 0; i < hd; i++) s += a.get(qo + i) * a.get(ko + i);
            s = s * fp.get(0);
            float cap = fp.get(1);
            if (cap > 0f) s = cap * TornadoMath.tanh(s / cap);
            a.set(ip.get(base + 2) + idx, s);
        }
    }

    /** Masks (zero outside the causal window) and softmaxes one (head, query) row per work item (ip: scores, rows, p0, heads, window). */
    static void attentionSoftmax(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 1), p0 = ip.get(base + 2);
        if (idx < ip.get(base + 3) * rows) {
            int nKeys = p0 + rows;
            int t = idx - (idx / rows) * rows;
            int qi = p0 + t;
            int lo = qi - ip.get(base + 4) + 1;
            if (lo < 0) lo = 0;
            int off = ip.get(base + 0) + idx * nKeys;
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
    static void attentionMix(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 3), heads = ip.get(base + 5), hd = ip.get(base + 7);
        if (idx < heads * rows * hd) {
            int nKeys = ip.get(base + 4) + rows;
            int kvHeads = ip.get(base + 6);
            int h = idx / (rows * hd);
            int rem = idx - h * rows * hd;
            int t = rem / hd;
            int i = rem - t * hd;
            int kh = h / (heads / kvHeads);
            int p = ip.get(base + 0) + (h * rows + t) * nKeys;
            int v = ip.get(base + 1) + kh * hd + i;
            int kvDim = kvHeads * hd;
            float s = 0f;
            for (int j = 0; j < nKeys; j++) s += a.get(p + j) * a.get(v + j * kvDim);
            a.set(ip.get(base + 2) + t * heads * hd + h * hd + i, s);
        }
    }

    /**
     * RoPE of the chunk's queries and keys, in place, with the keys (rotated) and values written to the KV cache, one
     * rotate-half pair per work item over every query head then every key head. The cos table starts at the chunk's
     * first position; sin follows at {@code +sinDelta} (ip: q, k, v, keyDst, valueDst, cos, sinDelta, rows, heads,
     * kvHeads, half).
     */
    static void ropeStore(KernelContext kc, FloatArray a, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 7), heads = ip.get(base + 8), kvHeads = ip.get(base + 9), half = ip.get(base + 10);
        int perRow = (heads + kvHeads) * half;
        if (idx < rows * perRow) {
            int t = idx / perRow;
            int rem = idx - t * perRow;
            int h = rem / half;
            int i = rem - h * half;
            int tab = ip.get(base + 5) + t * half + i;
            float c = a.get(tab);
            float s = a.get(tab + ip.get(base + 6));
            if (h < heads) {
                int b = ip.get(base) + (t * heads + h) * 2 * half;
                float x1 = a.get(b + i);
                float x2 = a.get(b + i + half);
                a.set(b + i, x1 * c - x2 * s);
                a.set(b + i + half, x2 * c + x1 * s);
            } else {
                int at = (t * kvHeads + h - heads) * 2 * half;
                int b = ip.get(base + 1) + at;
                float x1 = a.get(b + i);
                float x2 = a.get(b + i + half);
                float r1 = x1 * c - x2 * s;
                float r2 = x2 * c + x1 * s;
                a.set(b + i, r1);
                a.set(b + i + half, r2);
                int kd = ip.get(base + 3) + at;
                a.set(kd + i, r1);
                a.set(kd + i + half, r2);
                int vb = ip.get(base + 2) + at;
                int vd = ip.get(base + 4) + at;
                a.set(vd + i, a.get(vb + i));
                a.set(vd + i + half, a.get(vb + i + half));
            }
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
