package dev.loupe.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels, one work item per output element (or per row where a row is reduced). TornadoVM compiles
 * them to OpenCL C or PTX. Activations live in one arena array {@code a}; offsets, sizes and shapes come in the
 * parameter array {@code ip} from index {@code base} on (ints; a graph of several tasks gives each task its own
 * base in one array, sent once per execution) and in {@code fp} (floats), so one compiled kernel serves every layer
 * and every chunk size. Work items past the end return at once (the global
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
     * Does nothing unless asked ({@code ip1 > 0}: it rewrites {@code w[ip0]} unchanged): names an array in the first
     * graph so that TornadoVM gives it a device buffer there, which later graphs take over.
     */
    static void keep(KernelContext kc, FloatArray w, IntArray ip, int base) {
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
    static void softcap(KernelContext kc, FloatArray a, IntArray ip, int base, FloatArray fp) {
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

    /** One row per work item (ip: x, out, rows, d, weight offset in vec; fp: eps). */
    static void rmsNorm(KernelContext kc, FloatArray a, FloatArray vec, IntArray ip, int base, FloatArray fp) {
        int r = kc.globalIdx;
        if (r < ip.get(base + 2)) {
            int d = ip.get(base + 3);
            int x = ip.get(base + 0) + r * d;
            int out = ip.get(base + 1) + r * d;
            int w = ip.get(base + 4);
            float ss = 0f;
            for (int i = 0; i < d; i++) {
                float v = a.get(x + i);
                ss += v * v;
            }
            float scale = 1f / TornadoMath.sqrt(ss / d + fp.get(0));
            for (int i = 0; i < d; i++) a.set(out + i, a.get(x + i) * scale * vec.get(w + i));
        }
    }

    /**
     * {@code out[r, o] = Σ_i x[r, i] · W[o, i]}, W at {@code ip5} in the pool, one output per work item
     * (ip: x, out, rows, outDim, inDim, wOff).
     */
    static void matmul(KernelContext kc, FloatArray a, FloatArray w, IntArray ip, int base) {
        int idx = kc.globalIdx;
        int outDim = ip.get(base + 3);
        if (idx < ip.get(base + 2) * outDim) {
            int inDim = ip.get(base + 4);
            int r = idx / outDim;
            int o = idx - r * outDim;
            int x = ip.get(base + 0) + r * inDim;
            int wRow = ip.get(base + 5) + o * inDim;
            float s = 0f;
            for (int i = 0; i < inDim; i++) s += a.get(x + i) * w.get(wRow + i);
            a.set(ip.get(base + 1) + idx, s);
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

    /**
     * Fused attention for one (head, query) per work item with an online softmax: scaled, soft-capped scores over the
     * visible keys, never stored (ip: q, keys, values, z, rows, p0, heads, kvHeads, headDim, window; fp: scale, cap).
     */
    static void attention(KernelContext kc, FloatArray a, IntArray ip, int base, FloatArray fp) {
        int idx = kc.globalIdx;
        int rows = ip.get(base + 4), heads = ip.get(base + 6);
        if (idx < heads * rows) {
            int p0 = ip.get(base + 5), kvHeads = ip.get(base + 7), hd = ip.get(base + 8), window = ip.get(base + 9);
            float scale = fp.get(0), cap = fp.get(1);
            int h = idx / rows;
            int t = idx - h * rows;
            int qi = p0 + t;
            int lo = qi - window + 1;
            if (lo < 0) lo = 0;
            int kvDim = kvHeads * hd;
            int kh = h / (heads / kvHeads);
            int qo = ip.get(base + 0) + t * heads * hd + h * hd;
            int zo = ip.get(base + 3) + t * heads * hd + h * hd;
            for (int i = 0; i < hd; i++) a.set(zo + i, 0f);
            float m = MINUS_BIG;
            float sum = 0f;
            for (int j = lo; j <= qi; j++) {
                int ko = ip.get(base + 1) + j * kvDim + kh * hd;
                float s = 0f;
                for (int i = 0; i < hd; i++) s += a.get(qo + i) * a.get(ko + i);
                s = s * scale;
                if (cap > 0f) s = cap * TornadoMath.tanh(s / cap);
                float mNew = TornadoMath.max(m, s);
                float corr = TornadoMath.exp(m - mNew);
                float p = TornadoMath.exp(s - mNew);
                sum = sum * corr + p;
                int vo = ip.get(base + 2) + j * kvDim + kh * hd;
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
    static void attentionScores(KernelContext kc, FloatArray a, IntArray ip, int base, FloatArray fp) {
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
     * Embedding rows gathered on the device: {@code out[t, i] = E[token_t, i] · scale}, E at {@code ip3} in the pool and
     * the tokens in ip from {@code base + 4} (ip: out, rows, d, tableOffset, tokens...; fp: scale).
     */
    static void embed(KernelContext kc, FloatArray a, FloatArray w, IntArray ip, int base, FloatArray fp) {
        int idx = kc.globalIdx;
        int d = ip.get(base + 2);
        if (idx < ip.get(base + 1) * d) {
            int t = idx / d;
            int i = idx - t * d;
            a.set(ip.get(base) + idx, w.get(ip.get(base + 3) + ip.get(base + 4 + t) * d + i) * fp.get(0));
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
