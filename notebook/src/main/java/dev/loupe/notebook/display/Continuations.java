package dev.loupe.notebook.display;

import dev.loupe.hooks.HookSet;
import dev.loupe.model.Model;
import dev.loupe.model.Generation;

import java.util.ArrayList;
import java.util.List;

/**
 * Continuations of one prompt under different hooks, side by side (a steering comparison):
 * {@code Continuations.of(model, "I went to", Generation.greedy(20)).with("unsteered", HookSet.empty())
 * .with("add f7 × 40", Steering.add(sae, 7, 40f).hookSet())}. Each {@code with} generates at once.
 */
public record Continuations(Model model, String prompt, Generation generation, List<Row> rows) implements Rich {
    /** One setting and what the model wrote under it. */
    public record Row(String label, String text) {}

    public Continuations { rows = List.copyOf(rows); }

    public static Continuations of(Model model, String prompt, Generation generation) {
        return new Continuations(model, prompt, generation, List.of());
    }

    /** Generates under {@code hooks} and adds the result as a row. */
    public Continuations with(String label, HookSet hooks) {
        String text = model.generate(prompt, generation, hooks).text(model.tokenizer());
        List<Row> r = new ArrayList<>(rows);
        r.add(new Row(label, text));
        return new Continuations(model, prompt, generation, r);
    }

    /** The continuation of the row labelled {@code label}. */
    public String text(String label) {
        for (Row r : rows) if (r.label().equals(label)) return r.text();
        throw new IllegalArgumentException("no continuation labelled '" + label + "'; have " + rows.stream().map(Row::label).toList());
    }

    @Override public String mimeType() { return "text/html"; }

    @Override public String content() {
        Table t = Table.of("setting", "continuation").caption("prompt: " + prompt);
        for (Row r : rows) {
            t = t.row(r.label(), new Html("<span style=\"color:#888\">" + Html.escape(prompt) + "</span>"
                    + Html.escape(Shading.visible(r.text()))));
        }
        return t.content();
    }

    @Override public String summary() { return rows.size() + " continuations of '" + prompt + "'"; }
    @Override public String toString() {
        StringBuilder b = new StringBuilder();
        for (Row r : rows) b.append(r.label()).append(": ").append(prompt).append(r.text()).append('\n');
        return b.toString();
    }
}
