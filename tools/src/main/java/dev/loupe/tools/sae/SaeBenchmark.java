package dev.loupe.tools.sae;

import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Measures SAE encode (and sparse decode) throughput on standard-normal inputs: positions are encoded in batches,
 * as a forward pass hands them over; the best of several timed passes is reported after a warm-up pass.
 */
public final class SaeBenchmark {
    /**
     * @param encodeTokensPerSecond positions encoded per second (x·W_enc, bias, activation, sparse output)
     * @param decodeTokensPerSecond positions decoded per second from the sparse form
     * @param meanL0                mean active features per position on these inputs
     */
    public record Result(String sae, int dIn, int dSae, int tokens, int batch, String backend, int threads,
                         double encodeTokensPerSecond, double decodeTokensPerSecond, double meanL0,
                         double encodeGflops) {
        /** The fields under the snake_case names every {@code --json} output uses (llama-bench's convention). */
        public Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("sae", sae);
            m.put("d_in", dIn);
            m.put("d_sae", dSae);
            m.put("tokens", tokens);
            m.put("batch", batch);
            m.put("backend", backend);
            m.put("threads", threads);
            m.put("encode_tokens_per_s", encodeTokensPerSecond);
            m.put("decode_tokens_per_s", decodeTokensPerSecond);
            m.put("mean_l0", meanL0);
            m.put("encode_gflops", encodeGflops);
            return m;
        }
    }

    private SaeBenchmark() {}

    public static Result run(Sae sae, int tokens, int batch, int repeats, long seed) {
        if (tokens <= 0 || batch <= 0 || repeats <= 0) throw new IllegalArgumentException("tokens, batch and repeats must be positive");
        int d = sae.dIn();
        float[] x = new float[Math.multiplyExact(tokens, d)];
        for (int i = 0; i < x.length; i++) x[i] = SyntheticSae.gaussian(seed ^ 0x5DEECE66DL, i);

        SparseFeatures[] last = new SparseFeatures[(tokens + batch - 1) / batch];
        encodeAll(sae, x, tokens, batch, last);
        double bestEncode = Double.MAX_VALUE, bestDecode = Double.MAX_VALUE;
        for (int rep = 0; rep < repeats; rep++) {
            long t0 = System.nanoTime();
            encodeAll(sae, x, tokens, batch, last);
            bestEncode = Math.min(bestEncode, (System.nanoTime() - t0) / 1e9);
            long t1 = System.nanoTime();
            for (SparseFeatures f : last) sae.decode(f);
            bestDecode = Math.min(bestDecode, (System.nanoTime() - t1) / 1e9);
        }
        long active = Arrays.stream(last).mapToLong(SparseFeatures::totalActive).sum();
        double flops = 2.0 * d * sae.dSae() * tokens;
        return new Result(sae.config().source(), d, sae.dSae(), tokens, batch, sae.backend().name(), sae.backend().threads(),
                tokens / bestEncode, tokens / bestDecode, (double) active / tokens, flops / bestEncode / 1e9);
    }

    private static void encodeAll(Sae sae, float[] x, int tokens, int batch, SparseFeatures[] out) {
        int d = sae.dIn();
        for (int b = 0, r0 = 0; r0 < tokens; b++, r0 += batch) {
            int n = Math.min(batch, tokens - r0);
            out[b] = sae.encode(Arrays.copyOfRange(x, r0 * d, (r0 + n) * d), n);
        }
    }
}
