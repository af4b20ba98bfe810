package dev.loupe.model.forward;

/**
 * Rotary position embedding in HF's rotate-half (NEOX) layout: dimension i of a head is paired with
 * i + head_dim/2. Gemma 2 checkpoints in both HF and GGUF form use this layout unpermuted.
 */
final class Rope {
    private final int half;
    private final double[] invFreq;

    Rope(int headDim, double theta) {
        this.half = headDim / 2;
        this.invFreq = new double[half];
        for (int i = 0; i < half; i++) invFreq[i] = Math.pow(theta, -2.0 * i / headDim);
    }

    /** cos/sin tables for positions [p0, p0+n): {@code [n, half]} each. */
    float[][] tables(int p0, int n) {
        float[] cos = new float[n * half], sin = new float[n * half];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < half; i++) {
                double a = (p0 + t) * invFreq[i];
                cos[t * half + i] = (float) Math.cos(a);
                sin[t * half + i] = (float) Math.sin(a);
            }
        }
        return new float[][]{cos, sin};
    }

    /** Rotates every head of row t of {@code x} (heads·headDim wide, starting at off) in place. */
    void rotate(float[] x, int off, int heads, float[] cos, float[] sin, int t) {
        int hd = 2 * half;
        int tb = t * half;
        for (int h = 0; h < heads; h++) {
            int b = off + h * hd;
            for (int i = 0; i < half; i++) {
                float x1 = x[b + i], x2 = x[b + i + half];
                float c = cos[tb + i], s = sin[tb + i];
                x[b + i] = x1 * c - x2 * s;
                x[b + i + half] = x2 * c + x1 * s;
            }
        }
    }
}
