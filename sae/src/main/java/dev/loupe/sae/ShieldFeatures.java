package dev.loupe.sae;

import dev.loupe.model.Model;
import dev.loupe.model.grad.Linearization;
import dev.loupe.model.grad.Metric;
import dev.loupe.model.shield.ShieldGemma;

import java.util.List;

/**
 * The SAE features that push a ShieldGemma verdict toward Yes: each (position, feature)'s attribution to
 * {@code logit(Yes) − logit(No)} at the last position ({@link FeatureAttribution}: activation × gradient, with the SAE
 * spliced in and its error term kept), largest positive first.
 */
public final class ShieldFeatures {
    private ShieldFeatures() {}

    /** The {@code k} strongest pushes toward Yes (positive attributions) for the scored prompt {@code r}. */
    public static List<FeatureAttribution.Entry> towardYes(Model model, Sae sae, ShieldGemma.Result r, int k) {
        FeatureAttribution a = FeatureAttribution.compute(model, sae, r.tokenIds(),
                Metric.logitDiff(Metric.LAST, r.yesId(), r.noId()), Linearization.NONE);
        return a.top(Integer.MAX_VALUE).stream().filter(e -> e.attribution() > 0).limit(k).toList();
    }
}
