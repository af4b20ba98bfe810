package dev.loupe.notebook.display;

import dev.loupe.model.Model;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SparseFeatures;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A prompt decomposed into SAE features, ready to show: {@code Trace.of(model, sae, "The Golden Gate Bridge")} runs
 * the model as far as the SAE's hook and encodes every position. A cell ending with a trace shows each token's top
 * features; {@link #shade(int)} shows the prompt shaded by one feature.
 *
 * @param ids      the token ids ({@code <bos>} first)
 * @param tokens   how each token shows on its own
 * @param special  which tokens are special ({@code <bos>}...): left out of colour scales, since their activations
 *                 are outliers
 * @param features the SAE's features at every position
 */
public record Trace(int[] ids, List<String> tokens, boolean[] special, SparseFeatures features) implements Rich {
    public Trace {
        tokens = List.copyOf(tokens);
        if (ids.length != tokens.size() || ids.length != special.length || ids.length != features.positions()) {
            throw new IllegalArgumentException("trace: " + ids.length + " ids, " + tokens.size() + " tokens, "
                    + features.positions() + " encoded positions");
        }
    }

    public static Trace of(Model model, Sae sae, String text) { return of(model, sae, model.tokenizer().encode(text)); }

    public static Trace of(Model model, Sae sae, int[] ids) {
        SparseFeatures f = sae.encode(model.activation(ids, sae.hookName()));
        Tokenizer t = model.tokenizer();
        boolean[] special = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) special[i] = t.isSpecial(ids[i]);
        return new Trace(ids.clone(), model.tokenTexts(ids), special, f);
    }

    /**
     * The non-zero activations of {@code feature} over every token of {@code texts} (special tokens left out):
     * what a histogram of the feature over a small corpus shows.
     */
    public static float[] firings(Model model, Sae sae, List<String> texts, int feature) {
        List<Float> out = new ArrayList<>();
        for (String text : texts) {
            Trace t = of(model, sae, text);
            float[] a = t.activations(feature);
            for (int i = 0; i < a.length; i++) if (a[i] != 0 && !t.special[i]) out.add(a[i]);
        }
        float[] v = new float[out.size()];
        for (int i = 0; i < v.length; i++) v[i] = out.get(i);
        return v;
    }

    /** Feature {@code feature}'s activation at every position (0 where it is inactive). */
    public float[] activations(int feature) {
        float[] a = new float[ids.length];
        for (int p = 0; p < a.length; p++) a[p] = features.get(p, feature);
        return a;
    }

    /** {@code feature}'s largest activation on an ordinary (not special) token, 0 when it does not fire. */
    public float max(int feature) { return scale(activations(feature)); }

    /** The prompt shaded by {@code feature}'s activation, full colour at its largest value on an ordinary token. */
    public Html shade(int feature) {
        float[] a = activations(feature);
        return Shading.of(tokens, a, scale(a));
    }

    /** The prompt shaded by {@code feature}, full colour at {@code max} (e.g. the feature's maximum over a corpus). */
    public Html shade(int feature, float max) { return Shading.of(tokens, activations(feature), max); }

    /** One row per token: the token and its {@code k} strongest features, each chip shaded against the strongest. */
    public Html topFeatures(int k) {
        float max = 0;
        for (int p = 0; p < ids.length; p++) {
            if (special[p]) continue;
            for (float v : features.values(p)) max = Math.max(max, v);
        }
        StringBuilder b = new StringBuilder("<table style=\"border-collapse:collapse;font-family:monospace\">"
                + "<thead><tr><th style=\"text-align:right;padding:2px 6px\">pos</th><th style=\"text-align:left;padding:2px 6px\">token</th>"
                + "<th style=\"text-align:right;padding:2px 6px\">L0</th><th style=\"text-align:left;padding:2px 6px\">top features (id: activation)</th></tr></thead><tbody>");
        for (int p = 0; p < ids.length; p++) {
            b.append("<tr><td style=\"text-align:right;padding:2px 6px;color:#888\">").append(p)
                    .append("</td><td style=\"padding:2px 6px\">").append(Html.escape(tokens.get(p).replace("\n", "\u21b5")))
                    .append("</td><td style=\"text-align:right;padding:2px 6px\">").append(features.l0(p)).append("</td><td style=\"padding:2px 6px\">");
            for (SparseFeatures.Feature f : features.topK(p, k)) {
                b.append("<span style=\"display:inline-block;margin:1px 3px;padding:0 4px;border-radius:3px;background:")
                        .append(special[p] ? "#eee" : Shading.background(f.value(), max)).append("\">")
                        .append(f.id()).append(": ").append(String.format(Locale.ROOT, "%.2f", f.value())).append("</span>");
            }
            b.append("</td></tr>");
        }
        return new Html(b.append("</tbody></table>").toString());
    }

    /** The {@code k} features with the largest activation at any ordinary token, strongest first. */
    public List<SparseFeatures.Feature> strongest(int k) {
        float[] best = new float[features.dSae()];
        for (int p = 0; p < ids.length; p++) {
            if (special[p]) continue;
            int[] id = features.ids(p);
            float[] v = features.values(p);
            for (int i = 0; i < id.length; i++) best[id[i]] = Math.max(best[id[i]], v[i]);
        }
        List<SparseFeatures.Feature> all = new ArrayList<>();
        for (int f = 0; f < best.length; f++) if (best[f] > 0) all.add(new SparseFeatures.Feature(f, best[f]));
        all.sort((x, y) -> Float.compare(y.value(), x.value()));
        return all.subList(0, Math.min(k, all.size()));
    }

    @Override public String mimeType() { return "text/html"; }
    @Override public String content() { return topFeatures(5).html(); }
    @Override public String summary() { return "trace of " + ids.length + " tokens, mean L0 " + String.format(Locale.ROOT, "%.1f", meanL0()); }
    @Override public String toString() { return summary(); }

    private double meanL0() {
        double s = 0;
        for (int p = 0; p < ids.length; p++) s += features.l0(p);
        return s / Math.max(1, ids.length);
    }

    private float scale(float[] a) {
        float m = 0;
        for (int i = 0; i < a.length; i++) if (!special[i]) m = Math.max(m, Math.abs(a[i]));
        return m;
    }
}
