package dev.loupe.analysis.attribution;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.ActivationCache;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.RunResult;
import dev.loupe.model.grad.GradientRequest;
import dev.loupe.model.grad.GradientResult;
import dev.loupe.model.grad.Metric;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Attribution patching (Nanda): from one forward and backward pass on the clean prompt and one forward pass on the
 * corrupted one, the estimated change of the metric when the clean run's activation at a hook point is replaced by
 * the corrupted run's, {@code (corrupt − clean) · d metric / d activation (clean)}, for every position at once (and
 * every head of {@code attn.hook_z}). {@link #patchEffects} runs the real patches, one forward pass per position, to
 * compare with.
 *
 * @param estimates     per hook point: {@code [positions]}, {@code [positions, heads]} for {@code attn.hook_z}, and
 *                      {@code [heads, positions]} for patterns and scores (summed over keys)
 * @param cleanMetric   the metric on the clean prompt
 * @param corruptMetric the metric on the corrupted prompt
 * @param metric        the metric with its tokens fixed by the clean run (used for both prompts)
 */
public record AttributionPatching(Map<String, Estimate> estimates, double cleanMetric, double corruptMetric, Metric metric) {

    /** One hook point's estimates, row-major in {@code shape}. */
    public record Estimate(String hook, int[] shape, float[] values) {}

    /**
     * Estimates the patch of every hook point matching {@code hooks} (names or globs).
     *
     * @throws IllegalArgumentException when the prompts differ in length or a glob matches no hook point
     */
    public static AttributionPatching compute(Model model, int[] clean, int[] corrupt, Metric metric, List<String> hooks) {
        requireEqualLength(clean, corrupt);
        List<String> names = resolve(model, hooks);
        String[] globs = names.toArray(String[]::new);
        ActivationCache cleanActs = new ActivationCache();
        GradientResult g = model.gradients(clean, GradientRequest.of(metric).capturing(globs)
                .withHooks(cleanActs.hooksFor(names)));
        Metric fixed = fixTokens(metric, g.details());
        RunResult c = model.run(corrupt, RunOptions.caching(globs));
        double corruptValue = value(fixed, corrupt, c, model.config().vocabSize());
        Map<String, Estimate> out = new LinkedHashMap<>();
        int headDim = model.config().headDim();
        for (String name : names) {
            Activation a = cleanActs.get(name), b = c.cache().get(name), grad = g.gradient(name);
            out.put(name, estimate(name, a, b, grad, headDim));
        }
        return new AttributionPatching(out, g.value(), corruptValue, fixed);
    }

    /**
     * The exact effect of patching each position of {@code hook}: the metric of the clean run with row {@code t}
     * replaced by the corrupted run's, minus the clean metric ({@code [positions]}). One forward pass per position.
     */
    public static float[] patchEffects(Model model, int[] clean, int[] corrupt, Metric metric, String hook) {
        requireEqualLength(clean, corrupt);
        int vocab = model.config().vocabSize();
        Activation corruptAct = model.run(corrupt, RunOptions.caching(hook).withLogits(RunOptions.Logits.NONE)).cache().get(hook);
        if (corruptAct.shape().length != 2) throw BadInputException.of("hook", "exact patching takes [positions, width] hook points, not " + hook);
        int w = corruptAct.width();
        RunResult base = model.run(clean, RunOptions.defaults());
        Metric.Resolved resolved = metric.resolve(clean, vocab);
        double cleanValue = evaluate(resolved, base, vocab);
        Metric fixed = fixTokens(metric, resolved.details());
        float[] out = new float[clean.length];
        for (int t = 0; t < clean.length; t++) {
            final int row = t;
            RunResult r = model.run(clean, RunOptions.defaults().withHook(hook, a ->
                    System.arraycopy(corruptAct.data(), row * w, a.data(), row * w, w)));
            out[t] = (float) (value(fixed, clean, r, vocab) - cleanValue);
        }
        return out;
    }

    /** Pearson correlation of two equally long arrays (how well the estimates track the real patches). */
    public static double correlation(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("correlation of arrays of " + a.length + " and " + b.length + " values");
        double ma = 0, mb = 0;
        for (int i = 0; i < a.length; i++) { ma += a[i]; mb += b[i]; }
        ma /= a.length;
        mb /= b.length;
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }

    private static Estimate estimate(String name, Activation clean, Activation corrupt, Activation grad, int headDim) {
        int[] shape = clean.shape();
        float[] a = clean.data(), b = corrupt.data(), g = grad.data();
        if (shape.length == 3) {
            // [heads, queries, keys]: one estimate per head and query, summed over keys.
            int heads = shape[0], q = shape[1], k = shape[2];
            float[] v = new float[heads * q];
            for (int i = 0; i < heads * q; i++) v[i] = (float) dot(a, b, g, i * k, k);
            return new Estimate(name, new int[]{heads, q}, v);
        }
        int rows = shape[0], width = shape[1];
        if (name.endsWith("attn.hook_z")) {
            int heads = width / headDim;
            float[] v = new float[rows * heads];
            for (int r = 0; r < rows; r++) {
                for (int h = 0; h < heads; h++) v[r * heads + h] = (float) dot(a, b, g, r * width + h * headDim, headDim);
            }
            return new Estimate(name, new int[]{rows, heads}, v);
        }
        float[] v = new float[rows];
        for (int r = 0; r < rows; r++) v[r] = (float) dot(a, b, g, r * width, width);
        return new Estimate(name, new int[]{rows}, v);
    }

    /** {@code Σ (corrupt − clean) · grad} over {@code n} values from {@code off}. */
    private static double dot(float[] clean, float[] corrupt, float[] grad, int off, int n) {
        double s = 0;
        for (int i = off; i < off + n; i++) s += ((double) corrupt[i] - clean[i]) * grad[i];
        return s;
    }

    private static void requireEqualLength(int[] clean, int[] corrupt) {
        if (clean.length != corrupt.length) {
            throw BadInputException.of("corrupt", "" + corrupt.length + " tokens but the clean prompt has " + clean.length
                    + "; attribution patching needs prompts of equal length");
        }
    }

    private static List<String> resolve(Model model, List<String> globs) {
        if (globs.isEmpty()) throw BadInputException.of("hooks", "no hook point given");
        Set<String> names = new LinkedHashSet<>();
        for (String glob : globs) {
            for (int id : model.hookPoints().matching(glob)) names.add(model.hookPoints().name(id));
        }
        return new ArrayList<>(names);
    }

    /** The metric with the tokens a clean run chose (argmax, runner-up) written in, so both prompts are scored alike. */
    static Metric fixTokens(Metric m, Map<String, Object> details) {
        return switch (m) {
            case Metric.LogitDiff d -> Metric.logitDiff((int) details.get("position"), (int) details.get("target"), (int) details.get("baseline"));
            case Metric.Logit l -> Metric.logit((int) details.get("position"), (int) details.get("target"));
            case Metric.LogProb p -> Metric.logProb((int) details.get("position"), (int) details.get("target"));
            default -> m;
        };
    }

    private static double value(Metric m, int[] tokens, RunResult r, int vocab) { return evaluate(m.resolve(tokens, vocab), r, vocab); }

    private static double evaluate(Metric.Resolved m, RunResult r, int vocab) {
        float[] rows = new float[m.rows() * vocab];
        for (int i = 0; i < m.rows(); i++) System.arraycopy(r.logitsAt(m.firstPosition() + i), 0, rows, i * vocab, vocab);
        return m.function().evaluate(new Metric.Logits(rows, m.firstPosition(), m.rows(), vocab), new float[rows.length]);
    }
}
