package dev.loupe.model;

import dev.loupe.model.weights.SameWeights;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Gemma 2 forward pass in float64 with plain loops, written from the model's definition (DESIGN.md §3 and HF's
 * modeling_gemma2.py) and sharing no code with the engine: the independent source the engine's blocked,
 * vectorised, multi-threaded path is checked against on shapes the fixtures do not have.
 *
 * <p>It records the activation at every hook point, in the engine's layouts: {@code [positions, width]}, and
 * {@code [heads, positions, positions]} for attention scores (soft-capped, before the mask, every key) and
 * patterns (0 where masked).
 */
final class ScalarGemma2 {
    private final ModelConfig c;
    private final SameWeights w;

    ScalarGemma2(SameWeights weights) {
        this.c = weights.config();
        this.w = weights;
    }

    /** Hook name → activation, plus {@code "logits"} {@code [positions, vocab]} after the final softcap. */
    Map<String, double[]> run(int[] tokens) {
        int n = tokens.length, d = c.hiddenSize(), hd = c.headDim(), heads = c.numHeads(), kvHeads = c.numKvHeads();
        Map<String, double[]> out = new LinkedHashMap<>();
        float[] emb = w.get("model.embed_tokens.weight");
        double[] x = new double[n * d];
        double scale = Math.sqrt(d);
        for (int t = 0; t < n; t++) for (int i = 0; i < d; i++) x[t * d + i] = emb[tokens[t] * d + i] * scale;
        out.put("hook_embed", x.clone());

        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".", b = "blocks." + l + ".";
            out.put(b + "hook_resid_pre", x.clone());
            double[] xn = rmsNorm(x, n, w.get(p + "input_layernorm.weight"));
            double[] q = linear(xn, n, w.get(p + "self_attn.q_proj.weight"), d, heads * hd);
            double[] k = linear(xn, n, w.get(p + "self_attn.k_proj.weight"), d, kvHeads * hd);
            double[] v = linear(xn, n, w.get(p + "self_attn.v_proj.weight"), d, kvHeads * hd);
            out.put(b + "attn.hook_q", q.clone());
            out.put(b + "attn.hook_k", k.clone());
            out.put(b + "attn.hook_v", v.clone());
            rotate(q, n, heads);
            rotate(k, n, kvHeads);
            out.put(b + "attn.hook_rot_q", q);
            out.put(b + "attn.hook_rot_k", k);

            double[] scores = new double[heads * n * n];
            double[] pattern = new double[heads * n * n];
            double[] z = new double[n * heads * hd];
            for (int h = 0; h < heads; h++) attendHead(l, h, n, q, k, v, scores, pattern, z);
            out.put(b + "attn.hook_attn_scores", scores);
            out.put(b + "attn.hook_pattern", pattern);
            out.put(b + "attn.hook_z", z);
            double[] attnOut = rmsNorm(linear(z, n, w.get(p + "self_attn.o_proj.weight"), heads * hd, d), n,
                    w.get(p + "post_attention_layernorm.weight"));
            out.put(b + "hook_attn_out", attnOut);
            for (int i = 0; i < n * d; i++) x[i] += attnOut[i];
            out.put(b + "hook_resid_mid", x.clone());

            int inter = c.intermediateSize();
            double[] xm = rmsNorm(x, n, w.get(p + "pre_feedforward_layernorm.weight"));
            out.put(b + "ln2.hook_normalized", xm.clone());
            double[] gate = linear(xm, n, w.get(p + "mlp.gate_proj.weight"), d, inter);
            double[] up = linear(xm, n, w.get(p + "mlp.up_proj.weight"), d, inter);
            out.put(b + "mlp.hook_pre", gate.clone());
            double[] act = new double[n * inter];
            for (int i = 0; i < act.length; i++) {
                double g = gate[i];
                act[i] = 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g))) * up[i];
            }
            out.put(b + "mlp.hook_post", act);
            double[] mlpOut = rmsNorm(linear(act, n, w.get(p + "mlp.down_proj.weight"), inter, d), n,
                    w.get(p + "post_feedforward_layernorm.weight"));
            out.put(b + "hook_mlp_out", mlpOut);
            for (int i = 0; i < n * d; i++) x[i] += mlpOut[i];
            out.put(b + "hook_resid_post", x.clone());
        }
        double[] fin = rmsNorm(x, n, w.get("model.norm.weight"));
        out.put("ln_final.hook_normalized", fin);
        double[] logits = linear(fin, n, emb, d, c.vocabSize());
        if (c.finalSoftcap() > 0) {
            for (int i = 0; i < logits.length; i++) logits[i] = c.finalSoftcap() * Math.tanh(logits[i] / c.finalSoftcap());
        }
        out.put("logits", logits);
        return out;
    }

    /** One head of layer l: scores against every key, the masked softmax, and its slice of z. */
    private void attendHead(int l, int h, int n, double[] q, double[] k, double[] v, double[] scores, double[] pattern, double[] z) {
        int hd = c.headDim(), heads = c.numHeads(), kvHeads = c.numKvHeads();
        int kh = h / (heads / kvHeads);
        boolean sliding = l % 2 == 0;
        double scale = 1 / Math.sqrt(c.queryPreAttnScalar());
        for (int i = 0; i < n; i++) {
            int row = (h * n + i) * n;
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int e = 0; e < hd; e++) s += q[(i * heads + h) * hd + e] * k[(j * kvHeads + kh) * hd + e];
                s *= scale;
                if (c.attnSoftcap() > 0) s = c.attnSoftcap() * Math.tanh(s / c.attnSoftcap());
                scores[row + j] = s;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) if (visible(sliding, i, j)) max = Math.max(max, scores[row + j]);
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                if (visible(sliding, i, j)) {
                    pattern[row + j] = Math.exp(scores[row + j] - max);
                    sum += pattern[row + j];
                }
            }
            for (int j = 0; j <= i; j++) pattern[row + j] /= sum;
            for (int e = 0; e < hd; e++) {
                double acc = 0;
                for (int j = 0; j <= i; j++) acc += pattern[row + j] * v[(j * kvHeads + kh) * hd + e];
                z[(i * heads + h) * hd + e] = acc;
            }
        }
    }

    private boolean visible(boolean sliding, int query, int key) {
        return key <= query && (!sliding || query - key < c.slidingWindow());
    }

    /** HF Gemma RMSNorm: x / sqrt(mean(x²) + eps) · (1 + w), per row. */
    private double[] rmsNorm(double[] x, int rows, float[] weight) {
        int d = weight.length;
        double[] y = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < d; i++) ss += x[r * d + i] * x[r * d + i];
            double inv = 1 / Math.sqrt(ss / d + c.rmsNormEps());
            for (int i = 0; i < d; i++) y[r * d + i] = x[r * d + i] * inv * (1 + (double) weight[i]);
        }
        return y;
    }

    /** y[r, o] = Σ_i x[r, i]·W[o, i] (nn.Linear, W is [out, in]). */
    private static double[] linear(double[] x, int rows, float[] weight, int in, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) s += x[r * in + i] * weight[o * in + i];
                y[r * out + o] = s;
            }
        }
        return y;
    }

    /** Rotate-half RoPE: dimension i of each head pairs with i + head_dim/2, angle = position · θ^(−2i/head_dim). */
    private void rotate(double[] a, int rows, int heads) {
        int hd = c.headDim(), half = hd / 2;
        for (int t = 0; t < rows; t++) {
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * hd;
                for (int i = 0; i < half; i++) {
                    double angle = t * Math.pow(c.ropeTheta(), -2.0 * i / hd);
                    double x1 = a[base + i], x2 = a[base + i + half];
                    a[base + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
                    a[base + i + half] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
                }
            }
        }
    }
}
