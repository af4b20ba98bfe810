package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;






/** The {@code features.arrow} columns a feature listing can be sorted by, with their column names. */
public enum FeatureColumn {
    ID("feature_id"),
    FIRE_COUNT("fire_count"),
    DENSITY("density"),
    MAX_ACTIVATION("max_activation"),
    MEAN_ACTIVATION("mean_activation");

    private final String column;

    FeatureColumn(String column) { this.column = column; }

    /** The column's name in {@code features.arrow}. */
    public String column() { return column; }

    /** Parses a column name ({@code density}, {@code max_activation}, ...) or the enum name, case-insensitively. */
    public static FeatureColumn parse(String name) {
        for (FeatureColumn c : values()) {
            if (c.column.equalsIgnoreCase(name) || c.name().equalsIgnoreCase(name)) return c;
        }
        if ("max".equalsIgnoreCase(name)) return MAX_ACTIVATION;
        if ("mean".equalsIgnoreCase(name)) return MEAN_ACTIVATION;
        if ("id".equalsIgnoreCase(name)) return ID;
        StringBuilder known = new StringBuilder();
        for (FeatureColumn c : values()) known.append(known.isEmpty() ? "" : ", ").append(c.column);
        throw new BadInputException("unknown feature column '" + name + "'; expected one of " + known);
    }
}
