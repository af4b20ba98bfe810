package dev.loupe.model.generate;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.BoundHooks;
import dev.loupe.hooks.Hook;
import dev.loupe.hooks.HookSet;
import dev.loupe.hooks.ReadingHook;
import dev.loupe.model.Generation;
import dev.loupe.model.GenerationResult;
import dev.loupe.model.Model;
import dev.loupe.model.Session;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Assisted (speculative) generation: a small draft model proposes up to {@code draftTokens} tokens one at a time,
 * and the target model checks them all in one batched pass, so one target pass can yield several tokens. Works on
 * any backend (it uses only {@link Session}s).
 *
 * <ul>
 *   <li>Greedy: a drafted token is kept while it is the target's arg-max; the first disagreement is replaced by
 *       the target's choice. The output is the target's own greedy output (up to the last-bit differences between
 *       the batched and the one-row kernels, which decide only exact near-ties).</li>
 *   <li>Sampling: the standard rejection scheme. Drafted token {@code d} with draft probability {@code q(d)} is
 *       kept with probability {@code min(1, p(d)/q(d))} under the target's {@code p}; at the first rejection the
 *       token is drawn from {@code max(0, p - q)} renormalised; when all are kept one more comes from the target.
 *       Both {@code p} and {@code q} are after the same temperature / top-k / top-p, so the output is distributed
 *       as the target's own sampling.</li>
 *   <li>Hooks (on the target only) fire exactly once per kept position, as without a draft: the prompt pass fires
 *       them as usual; in a checking pass, {@link ReadingHook}s get copies that are delivered, one position per
 *       firing, only for the positions kept. A hook that may replace its activation would already have changed a
 *       position that is then thrown away, so with one attached the draft is not used (one token per target pass).</li>
 * </ul>
 */
public final class AssistedGeneration {
    private final Model target;
    private final Model draft;
    private final int draftTokens;

    /** What a generation's drafting achieved. */
    public record Stats(int targetPasses, int drafted, int accepted) {
        /** Fraction of drafted tokens the target kept. */
        public double acceptanceRate() { return drafted == 0 ? 0 : (double) accepted / drafted; }
    }

    /** A generation and its drafting statistics. */
    public record Result(GenerationResult generation, Stats stats) {}

    /**
     * @param target      the model whose output this is
     * @param draft       the proposing model; must share the target's vocabulary (same tokenizer)
     * @param draftTokens tokens proposed per target pass (K), at least 1
     */
    public AssistedGeneration(Model target, Model draft, int draftTokens) {
        if (draftTokens < 1) throw new BadInputException("draft tokens must be >= 1, got " + draftTokens);
        if (draft.config().vocabSize() != target.config().vocabSize()) {
            throw BadInputException.of("draftModel", "its vocabulary has " + draft.config().vocabSize()
                    + " tokens but the target's has " + target.config().vocabSize() + "; the draft must share the target's tokenizer");
        }
        this.target = target;
        this.draft = draft;
        this.draftTokens = draftTokens;
    }

    /** Like {@link Model#generate(int[], Generation, HookSet, IntConsumer)} on the target, with the draft's help. */
    public Result generate(int[] prompt, Generation g, HookSet hooks, IntConsumer onToken) {
        if (prompt.length == 0) throw new BadInputException("generation needs at least one prompt token (<bos>)");
        boolean readingOnly = hooks.bindings().stream().allMatch(b -> b.hook() instanceof ReadingHook);
        try (Session t = target.newSession(); Session d = draft.newSession()) {
            return new Run(t, d, g, hooks, readingOnly, onToken).generate(prompt);
        }
    }

    /** One generation's state. */
    private final class Run {
        private final Session t, d;
        private final Generation g;
        private final HookSet hooks;
        private final BoundHooks bound;
        private final boolean useDraft;
        private final IntConsumer onToken;
        private final Sampler sampler;
        private final Sampler draftSampler;
        private final int maxPositions;
        private final java.util.Set<Integer> stops;
        private final List<Integer> seq = new ArrayList<>();
        private int[] prompt, out;
        private int count, stopped = -1, passes, drafted, accepted;

        Run(Session t, Session d, Generation g, HookSet hooks, boolean readingOnly, IntConsumer onToken) {
            this.t = t;
            this.d = d;
            this.g = g;
            this.hooks = hooks;
            this.bound = hooks.bind(target.hookPoints());
            this.useDraft = readingOnly;
            this.onToken = onToken;
            this.sampler = new Sampler(g);
            // The draft's own stream, so that drafting does not shift the target's draws in a way that depends on K.
            this.draftSampler = new Sampler(new Generation(g.maxTokens(), g.temperature(), g.topK(), g.topP(), g.seed() ^ 0x5DEECE66DL, g.stopTokens()));
            this.maxPositions = target.config().maxPositions();
            this.stops = g.stopsFor(target.config());
        }

        Result generate(int[] prompt) {
            this.prompt = prompt;
            out = new int[Math.max(0, Math.min(g.maxTokens(), maxPositions - prompt.length + 1))];
            for (int id : prompt) seq.add(id);
            float[] logits = t.process(prompt, bound, -1, 1);
            passes++;
            if (g.maxTokens() == 0) return result();
            if (emit(sampler.next(logits)) || t.position() >= maxPositions) return result();
            while (true) {
                int p = t.position();
                // k drafted tokens yield up to k+1, so the last token before max tokens comes from a plain step.
                int k = Math.min(draftTokens, Math.min(g.maxTokens() - count - 1, maxPositions - p - 1));
                int[] fresh = (useDraft && k > 0) ? round(p, k) : step();
                boolean done = false;
                for (int tok : fresh) if (emit(tok)) { done = true; break; }
                if (done || t.position() >= maxPositions) return result();
            }
        }

        /** One plain target step: the last token in, the next one out. */
        private int[] step() {
            float[] logits = t.process(new int[]{last()}, bound, -1, 1);
            passes++;
            return new int[]{sampler.next(logits)};
        }

        /** Drafts {@code k} tokens after position {@code p}, checks them in one target pass, returns the tokens it yields. */
        private int[] round(int p, int k) {
            // The draft catches up on the tokens it has not seen (the target's corrections) and proposes k tokens.
            int[] proposal = new int[k];
            double[][] q = new double[k][];
            int[] pending = new int[seq.size() - d.position()];
            for (int i = 0; i < pending.length; i++) pending[i] = seq.get(d.position() + i);
            BoundHooks none = BoundHooks.none(draft.hookPoints());
            float[] dl = d.process(pending, none, -1, 1);
            for (int i = 0; i < k; i++) {
                if (i > 0) dl = d.process(new int[]{proposal[i - 1]}, none, -1, 1);
                q[i] = draftSampler.distribution(dl);
                proposal[i] = g.greedy() ? Sampler.argmax(dl) : draftSampler.draw(q[i]);
            }

            // The target sees the last kept token and the proposal: k+1 rows of logits. Reading hooks are deferred.
            List<Deferred> firings = new ArrayList<>();
            BoundHooks checking = deferring(firings).bind(target.hookPoints());
            int[] rows = new int[k + 1];
            rows[0] = last();
            System.arraycopy(proposal, 0, rows, 1, k);
            float[] logits = t.process(rows, checking, -1, k + 1);
            passes++;
            int vocab = target.config().vocabSize();

            int kept = 0;
            int next = -1;
            for (int i = 0; i < k && next < 0; i++) {
                float[] row = Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
                if (g.greedy()) {
                    int best = Sampler.argmax(row);
                    if (best == proposal[i]) kept++;
                    else next = best;
                } else {
                    double[] pt = sampler.distribution(row);
                    double ratio = q[i][proposal[i]] == 0 ? 0 : pt[proposal[i]] / q[i][proposal[i]];
                    if (sampler.uniform() < Math.min(1, ratio)) {
                        kept++;
                    } else {
                        double[] residual = new double[vocab];
                        boolean any = false;
                        for (int v = 0; v < vocab; v++) {
                            residual[v] = Math.max(0, pt[v] - q[i][v]);
                            any |= residual[v] > 0;
                        }
                        next = sampler.draw(any ? residual : pt);
                    }
                }
            }
            if (next < 0) next = sampler.next(Arrays.copyOfRange(logits, k * vocab, (k + 1) * vocab));
            drafted += k;
            accepted += kept;

            int[] fresh = new int[kept + 1];
            System.arraycopy(proposal, 0, fresh, 0, kept);
            fresh[kept] = next;
            // Tokens past max tokens or a stop token are dropped; only rows whose token precedes the last emitted
            // one stay in the caches (as in a plain run, the last emitted token is not processed yet).
            int emitted = emittable(fresh);
            t.rewind(p + emitted);
            d.rewind(Math.min(d.position(), p + emitted));
            for (int r = 0; r < emitted; r++) {
                for (Deferred f : firings) f.hook.apply(f.row(r));
            }
            return Arrays.copyOf(fresh, emitted);
        }

        /** How many of {@code fresh} a plain run would emit before max tokens or a stop token ends it. */
        private int emittable(int[] fresh) {
            int n = 0;
            for (int tok : fresh) {
                n++;
                if (count + n >= g.maxTokens() || stops.contains(tok)) break;
            }
            return n;
        }

        /** The hook set with every (reading) hook replaced by one that keeps a copy for later delivery. */
        private HookSet deferring(List<Deferred> firings) {
            HookSet set = HookSet.empty();
            for (HookSet.Binding b : hooks.bindings()) {
                Hook real = b.hook();
                set = set.with(b.pattern(), (ReadingHook) a -> firings.add(new Deferred(real, a.copy())));
            }
            return set;
        }

        private int last() { return seq.getLast(); }

        /** Records a generated token; true when generation ends with it. */
        private boolean emit(int tok) {
            out[count++] = tok;
            seq.add(tok);
            if (onToken != null) onToken.accept(tok);
            if (stops.contains(tok)) { stopped = tok; return true; }
            return count >= g.maxTokens();
        }

        private Result result() {
            return new Result(new GenerationResult(prompt, Arrays.copyOf(out, count), stopped), new Stats(passes, drafted, accepted));
        }
    }

    /** A firing of a checking pass, held until it is known which of its positions are kept. */
    private record Deferred(Hook hook, Activation a) {
        /** Row {@code r} alone, shaped as a one-position firing at its absolute position (keys up to itself). */
        Activation row(int r) {
            int[] s = a.shape();
            int pos = a.firstPosition() + r;
            if (s.length == 2) {
                return new Activation(a.name(), new int[]{1, s[1]}, Arrays.copyOfRange(a.data(), r * s[1], (r + 1) * s[1]), pos);
            }
            int heads = s[0], rows = s[1], keys = s[2], visible = pos + 1;
            float[] data = new float[heads * visible];
            for (int h = 0; h < heads; h++) System.arraycopy(a.data(), (h * rows + r) * keys, data, h * visible, visible);
            return new Activation(a.name(), new int[]{heads, 1, visible}, data, pos);
        }
    }
}
