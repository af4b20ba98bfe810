package dev.loupe.model.grad;

import dev.loupe.errors.BadInputException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A scalar of a run's logits whose gradient the backward pass computes. Logits are the model's final logits
 * (after the final softcap, or before it in {@link Linearization linearized} runs). A metric names the range of
 * positions whose logits it reads; only those rows are computed.
 */
public sealed interface Metric permits Metric.Logit, Metric.LogitDiff, Metric.LogProb, Metric.Loss, Metric.Custom {

    /** Position meaning "the last one of the prompt". */
    int LAST = -1;
    /** Token meaning "chosen from the logits": the argmax for a target, the runner-up for a baseline. */
    int AUTO = -1;

    /** {@code logits[position, target]}: one next-token logit ("why this token"). */
    record Logit(int position, int target) implements Metric {}

    /** {@code logits[position, target] − logits[position, baseline]}. */
    record LogitDiff(int position, int target, int baseline) implements Metric {}

    /** {@code log_softmax(logits[position])[target]}. */
    record LogProb(int position, int target) implements Metric {}

    /** Mean next-token cross-entropy over positions {@code 0 .. n−2} (natural log), as training minimises it. */
    record Loss() implements Metric {}

    /**
     * A metric of the caller's: {@code function} reads the logits of positions {@code [first, first + count)}
     * ({@code count} −1: through the last) and gives its value and gradient.
     */
    record Custom(String name, int first, int count, Function function) implements Metric {}

    /** A library metric: its value at {@code logits} and, into {@code gradient} (zeroed, same layout), d value / d logits. */
    @FunctionalInterface
    interface Function {
        double evaluate(Logits logits, float[] gradient);
    }

    /**
     * Logits of consecutive positions {@code [firstPosition, firstPosition + rows)}, row-major {@code [rows, vocab]}.
     */
    record Logits(float[] data, int firstPosition, int rows, int vocab) {
        public float get(int position, int token) { return data[(position - firstPosition) * vocab + token]; }

        /** The arg-max token at a position (the lowest id on ties). */
        public int argmax(int position) { return ranked(position, -1); }

        /** The best token at a position other than {@code except}. */
        public int ranked(int position, int except) {
            int off = (position - firstPosition) * vocab, best = -1;
            for (int i = 0; i < vocab; i++) {
                if (i == except) continue;
                if (best < 0 || data[off + i] > data[off + best]) best = i;
            }
            return best;
        }
    }

    static Logit logit(int position, int target) { return new Logit(position, target); }

    static LogitDiff logitDiff(int position, int target, int baseline) { return new LogitDiff(position, target, baseline); }

    /** Logit difference at the last position between its argmax and its runner-up. */
    static LogitDiff logitDiff() { return new LogitDiff(LAST, AUTO, AUTO); }

    static LogProb logProb(int position, int target) { return new LogProb(position, target); }

    static Loss loss() { return new Loss(); }

    static Custom of(String name, int first, int count, Function f) { return new Custom(name, first, count, f); }

    /** The metric once resolved against a prompt: the rows it reads, and how to evaluate them. */
    record Resolved(int firstPosition, int rows, Function function, Map<String, Object> details) {}

    /**
     * Checks this metric against a prompt of {@code positions} tokens and a vocabulary; tokens left to {@link #AUTO}
     * are chosen when the logits are known and recorded in {@link Resolved#details()}.
     *
     * @throws IllegalArgumentException naming the field ({@code position}, {@code target}, {@code baseline}) that is out of range
     */
    default Resolved resolve(int[] tokens, int vocab) {
        int n = tokens.length;
        return switch (this) {
            case Logit lg -> {
                int p = position(lg.position(), n);
                token("target", lg.target(), vocab);
                Map<String, Object> det = details("logit", p);
                yield new Resolved(p, 1, (l, g) -> {
                    int a = lg.target() == AUTO ? l.argmax(p) : lg.target();
                    det.put("target", a);
                    g[a] += 1f;
                    return l.get(p, a);
                }, det);
            }
            case LogitDiff d -> {
                int p = position(d.position(), n);
                token("target", d.target(), vocab);
                token("baseline", d.baseline(), vocab);
                Map<String, Object> det = details("logit-diff", p);
                yield new Resolved(p, 1, (l, g) -> {
                    int a = d.target() == AUTO ? l.argmax(p) : d.target();
                    int b = d.baseline() == AUTO ? l.ranked(p, a) : d.baseline();
                    det.put("target", a);
                    det.put("baseline", b);
                    g[a] += 1f;
                    g[b] -= 1f;
                    return (double) l.get(p, a) - l.get(p, b);
                }, det);
            }
            case LogProb lp -> {
                int p = position(lp.position(), n);
                token("target", lp.target(), vocab);
                Map<String, Object> det = details("logprob", p);
                yield new Resolved(p, 1, (l, g) -> {
                    int a = lp.target() == AUTO ? l.argmax(p) : lp.target();
                    det.put("target", a);
                    double[] soft = softmax(l.data(), 0, vocab);
                    for (int i = 0; i < vocab; i++) g[i] = (float) -soft[i];
                    g[a] += 1f;
                    return Math.log(soft[a]);
                }, det);
            }
            case Loss ignored -> {
                if (n < 2) throw BadInputException.of("tokens", "the loss needs at least 2 tokens, got " + n);
                for (int i = 1; i < n; i++) token("tokens[" + i + "]", tokens[i], vocab);
                int rows = n - 1;
                yield new Resolved(0, rows, (l, g) -> {
                    double sum = 0;
                    for (int r = 0; r < rows; r++) {
                        double[] soft = softmax(l.data(), r * vocab, vocab);
                        int next = tokens[r + 1];
                        sum -= Math.log(soft[next]);
                        for (int i = 0; i < vocab; i++) g[r * vocab + i] = (float) (soft[i] / rows);
                        g[r * vocab + next] -= 1f / rows;
                    }
                    return sum / rows;
                }, details("loss", -1));
            }
            case Custom c -> {
                int first = position(c.first(), n);
                int count = c.count() < 0 ? n - first : c.count();
                if (count < 1 || first + count > n) {
                    throw BadInputException.of("count", "" + c.count() + " positions from " + first + " do not fit a prompt of " + n);
                }
                yield new Resolved(first, count, c.function(), details(c.name(), -1));
            }
        };
    }

    private static Map<String, Object> details(String name, int position) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("metric", name);
        if (position >= 0) m.put("position", position);
        return m;
    }

    private static int position(int p, int n) {
        if (p == LAST) return n - 1;
        if (p < 0 || p >= n) {
            throw BadInputException.of("position", "" + p + " is outside the prompt (0.." + (n - 1) + ")");
        }
        return p;
    }

    private static void token(String field, int t, int vocab) {
        if (t == AUTO) return;
        if (t < 0 || t >= vocab) {
            throw BadInputException.of(field, "token " + t + " is outside the vocabulary [0, " + vocab + ")");
        }
    }

    /** Softmax of one row in double (the log-probabilities a metric reports should not lose digits to float). */
    private static double[] softmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        double sum = 0;
        double[] e = new double[n];
        for (int i = 0; i < n; i++) sum += (e[i] = Math.exp(x[off + i] - max));
        for (int i = 0; i < n; i++) e[i] /= sum;
        return e;
    }

}
