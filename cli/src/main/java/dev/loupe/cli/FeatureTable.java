package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.sae.SparseFeatures;

import java.util.List;
import java.util.Locale;

/** Per-token top SAE features as a readable table or as JSON. */
final class FeatureTable {
    private FeatureTable() {}

    /** One row per token: position, token id, token text, L0 and the strongest features as {@code id:value}. */
    static String text(int[] tokens, List<String> tokenTexts, SparseFeatures f, int top) {
        int width = 5;
        for (String t : tokenTexts) width = Math.max(width, visible(t).length());
        width = Math.min(width, 24);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%4s  %7s  %-" + width + "s  %4s  %s%n", "pos", "id", "token", "L0", "top features (id:activation)"));
        for (int p = 0; p < tokens.length; p++) {
            StringBuilder feats = new StringBuilder();
            for (SparseFeatures.Feature ft : f.topK(p, top)) {
                if (!feats.isEmpty()) feats.append("  ");
                feats.append(ft.id()).append(':').append(String.format(Locale.ROOT, "%.2f", ft.value()));
            }
            String tok = visible(tokenTexts.get(p));
            if (tok.length() > width) tok = tok.substring(0, width - 1) + "…";
            sb.append(String.format(Locale.ROOT, "%4d  %7d  %-" + width + "s  %4d  %s%n", p, tokens[p], tok, f.l0(p), feats));
        }
        return sb.toString();
    }

    static String json(String hook, int[] tokens, List<String> tokenTexts, SparseFeatures f, int top) {
        ObjectNode root = dev.loupe.model.io.LoupeJson.MAPPER.createObjectNode();
        root.put("hook", hook);
        root.put("d_sae", f.dSae());
        ArrayNode rows = root.putArray("tokens");
        for (int p = 0; p < tokens.length; p++) {
            ObjectNode r = rows.addObject();
            r.put("position", p);
            r.put("id", tokens[p]);
            r.put("text", tokenTexts.get(p));
            r.put("l0", f.l0(p));
            ArrayNode fs = r.putArray("features");
            for (SparseFeatures.Feature ft : f.topK(p, top)) fs.addObject().put("id", ft.id()).put("activation", ft.value());
        }
        try {
            return dev.loupe.model.io.LoupeJson.PRETTY.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Shows whitespace so tokens like " the" and "\n" are distinguishable in a table. */
    static String visible(String s) {
        return s.replace("\n", "\\n").replace("\t", "\\t").replace(" ", "·");
    }
}
