package dev.loupe.cli;

import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.TextTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Help whose descriptions wrap at spaces only. picocli wraps with the JDK's line BreakIterator, which also breaks
 * after a dot before a letter, so "feature_acts.npy" and "blocks.20.hook_resid_post" came out split across lines
 * (". npy", "blocks.20. hook_resid_post"), which a reader cannot copy back.
 */
final class WordWrappedHelp extends Help {
    static final CommandLine.IHelpFactory FACTORY = WordWrappedHelp::new;

    private WordWrappedHelp(CommandLine.Model.CommandSpec spec, ColorScheme scheme) {
        super(spec, scheme);
    }

    @Override public Layout createDefaultLayout() {
        Layout base = super.createDefaultLayout();
        return new Layout(colorScheme(), copy(base.textTable()), base.optionRenderer(), base.parameterRenderer());
    }

    @Override public TextTable createTextTable(Map<?, ?> map) {
        TextTable table = copy(super.createTextTable(Map.of()));
        for (Map.Entry<?, ?> e : map.entrySet()) table.addRowValues(text(e.getKey()), text(e.getValue()));
        return table;
    }

    /** picocli's command list (name, then the first line of the header or description), wrapped at spaces. */
    @Override public String commandList(Map<String, Help> subcommands) {
        if (subcommands.isEmpty()) return "";
        int nameWidth = 0;
        for (Help h : subcommands.values()) nameWidth = Math.max(nameWidth, h.commandNamesText(", ").plainString().length());
        TextTable table = new WordTable(colorScheme(), new Column[]{
                new Column(nameWidth + 2, 2, Column.Overflow.SPAN), new Column(commandSpec().usageMessage().width() - (nameWidth + 2), 2, Column.Overflow.WRAP)});
        for (Help h : subcommands.values()) {
            CommandLine.Model.UsageMessageSpec usage = h.commandSpec().usageMessage();
            String[] header = usage.header() != null && usage.header().length > 0 ? usage.header() : usage.description();
            String first = header != null && header.length > 0 ? header[0].replace("%n", "\n") : "";
            String[] lines = first.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                table.addRowValues(i == 0 ? h.commandNamesText(", ") : colorScheme().text(""), colorScheme().text(lines[i]));
            }
        }
        return table.toString();
    }

    private Text text(Object o) {
        return o instanceof Text t ? t : colorScheme().text(String.valueOf(o));
    }

    private TextTable copy(TextTable base) {
        WordTable t = new WordTable(colorScheme(), base.columns());
        t.indentWrappedLines = base.indentWrappedLines;
        return t;
    }

    /** A table that puts a too-long wrapping value line by line, broken at spaces. */
    private static final class WordTable extends TextTable {
        private final ColorScheme scheme;

        WordTable(ColorScheme scheme, Column[] columns) {
            super(scheme, copyColumns(columns));
            this.scheme = scheme;
        }

        private static Column[] copyColumns(Column[] columns) {
            Column[] out = new Column[columns.length];
            for (int i = 0; i < columns.length; i++) {
                out[i] = new Column(columns[i].width, columns[i].indent, columns[i].overflow);
            }
            return out;
        }

        @Override public Cell putValue(int row, int col, Text value) {
            Column column = columns()[col];
            String plain = value == null ? "" : value.plainString();
            int first = column.width - column.indent, rest = first - indentWrappedLines;
            if (column.overflow != Column.Overflow.WRAP || plain.length() <= first || plain.contains("\n") || rest < 10) {
                return super.putValue(row, col, value);
            }
            List<String> lines = wrap(plain, first, rest);
            Cell cell = null;
            for (int i = 0; i < lines.size(); i++) {
                while (row + i >= rowCount()) addEmptyRow();
                String line = i == 0 ? lines.get(i) : " ".repeat(indentWrappedLines) + lines.get(i);
                cell = super.putValue(row + i, col, scheme.text(line));
            }
            return cell;
        }

        /** Greedy wrapping at spaces; a word longer than a line stands alone (picocli then cuts it). */
        static List<String> wrap(String text, int firstWidth, int width) {
            List<String> lines = new ArrayList<>();
            StringBuilder line = new StringBuilder();
            for (String word : text.strip().split(" +")) {
                int limit = lines.isEmpty() ? firstWidth : width;
                if (!line.isEmpty() && line.length() + 1 + word.length() > limit) {
                    lines.add(line.toString());
                    line.setLength(0);
                }
                if (!line.isEmpty()) line.append(' ');
                line.append(word);
            }
            if (!line.isEmpty()) lines.add(line.toString());
            return lines;
        }
    }
}
