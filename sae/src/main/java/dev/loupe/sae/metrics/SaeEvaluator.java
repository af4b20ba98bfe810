package dev.loupe.sae.metrics;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.hooks.HookSet;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeSplice;
import dev.loupe.sae.SparseFeatures;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs SAELens's evaluation of one SAE over token sequences: per sequence a clean run (recording the SAE's
 * input), a run with the SAE spliced in (reconstruction, no error term) and a run with the hook zero-ablated.
 * Reconstruction metrics leave out positions holding the given special tokens (SAELens's {@code ignore_tokens}:
 * BOS activations are huge and would dominate the variance); CE loss and KL cover every position.
 */
public final class SaeEvaluator {
    /** Runs the model on one sequence with hooks attached and returns its logits {@code [n, vocab]}. */
    @FunctionalInterface
    public interface Model {
        float[] logits(int[] tokens, HookSet hooks);
    }

    /** The metrics, named as SAELens names them. */
    public record Report(long tokens, long reconstructionPositions, double l0, double mse, double explainedVariance,
                         double fvu, double ceLossWithoutSae, double ceLossWithSae, double ceLossWithAblation,
                         double ceLossScore, double klDivWithSae, double klDivWithAblation, double klDivScore) {
        /** name → value in SAELens's naming, for tables and JSON. */
        public Map<String, Number> asMap() {
            Map<String, Number> m = new LinkedHashMap<>();
            m.put("tokens", tokens);
            m.put("reconstruction_positions", reconstructionPositions);
            m.put("l0", l0);
            m.put("mse", mse);
            m.put("explained_variance", explainedVariance);
            m.put("fvu", fvu);
            m.put("ce_loss_without_sae", ceLossWithoutSae);
            m.put("ce_loss_with_sae", ceLossWithSae);
            m.put("ce_loss_with_ablation", ceLossWithAblation);
            m.put("ce_loss_score", ceLossScore);
            m.put("kl_div_with_sae", klDivWithSae);
            m.put("kl_div_with_ablation", klDivWithAblation);
            m.put("kl_div_score", klDivScore);
            return m;
        }
    }

    private SaeEvaluator() {}

    public static Report evaluate(Model model, int vocab, Sae sae, List<int[]> sequences, Set<Integer> ignoreTokens) {
        String hook = sae.hookName();
        ReconstructionStats rec = new ReconstructionStats(sae.dIn());
        DownstreamStats down = new DownstreamStats();
        long tokens = 0;
        HookSet spliced = SaeSplice.of(sae).hookSet();
        HookSet ablated = HookSet.of(hook, a -> Arrays.fill(a.data(), 0f));
        for (int[] seq : sequences) {
            if (seq.length < 2) continue;
            Activation[] seen = new Activation[1];
            float[] clean = model.logits(seq, HookSet.of(hook, a -> seen[0] = a.copy()));
            if (seen[0] == null) throw new BadInputException("the model never reached " + hook);
            Activation x = seen[0];
            int keep = 0;
            for (int t : seq) if (!ignoreTokens.contains(t)) keep++;
            float[] kept = new float[keep * sae.dIn()];
            for (int p = 0, k = 0; p < seq.length; p++) {
                if (ignoreTokens.contains(seq[p])) continue;
                System.arraycopy(x.data(), p * sae.dIn(), kept, k++ * sae.dIn(), sae.dIn());
            }
            if (keep > 0) {
                SparseFeatures f = sae.encode(kept, keep);
                rec.add(kept, sae.decode(f), keep);
                rec.addL0(f.l0());
            }
            float[] withSae = model.logits(seq, spliced);
            float[] withAblation = model.logits(seq, ablated);
            down.add(seq, vocab, clean, withSae, withAblation);
            tokens += seq.length;
        }
        if (rec.positions() == 0) throw new BadInputException("no positions to evaluate (corpus empty or only special tokens)");
        return new Report(tokens, rec.positions(), rec.meanL0(), rec.mse(), rec.explainedVariance(), rec.fvu(),
                down.ceLossWithoutSae(), down.ceLossWithSae(), down.ceLossWithAblation(), down.ceLossScore(),
                down.klDivWithSae(), down.klDivWithAblation(), down.klDivScore());
    }
}
