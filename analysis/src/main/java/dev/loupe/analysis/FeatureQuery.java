package dev.loupe.analysis;

/**
 * An immutable feature listing request: filters, sort order and page. Start from {@link #all()}:
 * <pre>{@code
 * FeatureQuery.all().sortBy(FeatureColumn.DENSITY).descending().densityBetween(1e-5, 0.1)
 *             .promotedTokenMatching("golden").page(0, 50)
 * }</pre>
 *
 * @param sortBy          the column to sort by (ties by feature id ascending)
 * @param sortDescending  largest first
 * @param minDensity      keep features with density ≥ this
 * @param maxDensity      keep features with density ≤ this
 * @param promotedMatch   keep features one of whose top promoted tokens contains this text (case-insensitive,
 *                        leading/trailing spaces of tokens ignored); null for no filter
 * @param offset          rows to skip
 * @param limit           rows to return at most
 */
public record FeatureQuery(FeatureColumn sortBy, boolean sortDescending, double minDensity, double maxDensity,
                           String promotedMatch, int offset, int limit) {
    public FeatureQuery {
        if (sortBy == null) throw new IllegalArgumentException("feature query: sortBy is null");
        if (offset < 0) throw new IllegalArgumentException("feature query: offset " + offset + " < 0");
        if (limit < 0) throw new IllegalArgumentException("feature query: limit " + limit + " < 0");
        if (Double.isNaN(minDensity) || Double.isNaN(maxDensity)) throw new IllegalArgumentException("feature query: density bound is NaN");
    }

    /** Every feature by id ascending, first 100. */
    public static FeatureQuery all() {
        return new FeatureQuery(FeatureColumn.ID, false, 0, Double.POSITIVE_INFINITY, null, 0, 100);
    }

    public FeatureQuery sortBy(FeatureColumn c) { return new FeatureQuery(c, sortDescending, minDensity, maxDensity, promotedMatch, offset, limit); }

    public FeatureQuery descending() { return new FeatureQuery(sortBy, true, minDensity, maxDensity, promotedMatch, offset, limit); }

    public FeatureQuery ascending() { return new FeatureQuery(sortBy, false, minDensity, maxDensity, promotedMatch, offset, limit); }

    public FeatureQuery densityBetween(double min, double max) { return new FeatureQuery(sortBy, sortDescending, min, max, promotedMatch, offset, limit); }

    public FeatureQuery promotedTokenMatching(String text) {
        return new FeatureQuery(sortBy, sortDescending, minDensity, maxDensity, text == null || text.isBlank() ? null : text, offset, limit);
    }

    public FeatureQuery page(int offset, int limit) { return new FeatureQuery(sortBy, sortDescending, minDensity, maxDensity, promotedMatch, offset, limit); }
}
