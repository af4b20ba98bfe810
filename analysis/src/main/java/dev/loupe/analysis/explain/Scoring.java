package dev.loupe.analysis.explain;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Delphi's scoring arithmetic: balanced accuracy of a scorer's 0/1 answers, and reading those answers. */
public final class Scoring {
    private static final Pattern LIST = Pattern.compile("\\[([\\s01,]*)]");

    private Scoring() {}

    /**
     * {@code (TPR + TNR) / 2}: the mean of the recall on the positives and on the negatives, so that a scorer that
     * answers all 1 (or all 0) scores 0.5 whatever the mix. Null when either class is empty.
     */
    public static Double balancedAccuracy(boolean[] truth, int[] predicted) {
        int tp = 0, fn = 0, tn = 0, fp = 0;
        for (int i = 0; i < truth.length; i++) {
            boolean said = predicted[i] == 1;
            if (truth[i]) { if (said) tp++; else fn++; } else { if (said) fp++; else tn++; }
        }
        if (tp + fn == 0 || tn + fp == 0) return null;
        return ((double) tp / (tp + fn) + (double) tn / (tn + fp)) / 2;
    }

    /** The last bracketed list of exactly {@code n} zeros and ones in {@code reply}, or null when there is none. */
    public static int[] parse(String reply, int n) {
        int[] found = null;
        Matcher m = LIST.matcher(reply);
        while (m.find()) {
            String[] parts = m.group(1).split(",");
            if (parts.length != n) continue;
            int[] v = new int[n];
            boolean ok = true;
            for (int i = 0; i < n && ok; i++) {
                String p = parts[i].strip();
                if (p.equals("1")) v[i] = 1;
                else if (!p.equals("0")) ok = false;
            }
            if (ok) found = v;
        }
        return found;
    }

    /** The explanation in an explainer's answer: after its last {@code [EXPLANATION]:}, else its last non-empty line. */
    public static String explanation(String reply) {
        String text = reply.strip();
        int at = text.lastIndexOf("[EXPLANATION]:");
        String e = at >= 0 ? text.substring(at + "[EXPLANATION]:".length()) : text.substring(text.lastIndexOf('\n') + 1);
        e = e.strip();
        int nl = e.indexOf('\n');
        if (nl >= 0) e = e.substring(0, nl).strip();
        return e.length() > 512 ? e.substring(0, 512) : e;   // Neuronpedia's limit on an explanation
    }
}
