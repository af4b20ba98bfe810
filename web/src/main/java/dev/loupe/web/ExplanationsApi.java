package dev.loupe.web;

import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import io.javalin.http.Context;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The run's feature explanations ({@code explanations.arrow}, written by {@code loupe explain}):
 * {@code GET /api/explanations?q=WORDS&limit=N} searches them in full text (every word of {@code q}, any case;
 * all of them without {@code q}), {@code GET /api/features/{id}/explanations} lists one feature's. The file is read
 * again when it changes, so explanations made while the server runs show up.
 */
final class ExplanationsApi {
    static final int MAX_LIMIT = 100_000;

    private final Path file;
    private FileTime loadedAt;
    private List<ExplanationsFile.Row> rows = List.of();

    ExplanationsApi(FeatureStore store) { this.file = ExplanationsFile.of(store); }

    /** One explanation as the pages show it. */
    record View(int featureId, String explanation, String method, String explainerModel, Double detection, Double fuzzing, long time) {
        static View of(ExplanationsFile.Row r) {
            return new View(r.featureId(), r.explanation(), r.method(), r.explainerModel(), r.detection(), r.fuzzing(), r.timeMillis());
        }
    }

    record Found(String q, int total, List<View> rows) {}

    record ForFeature(int feature, List<View> explanations) {}

    private synchronized List<ExplanationsFile.Row> rows() {
        try {
            if (!Files.exists(file)) return rows = List.of();
            FileTime t = Files.getLastModifiedTime(file);
            if (!t.equals(loadedAt)) {
                rows = ExplanationsFile.read(file);
                loadedAt = t;
            }
        } catch (IOException e) {
            throw ApiException.badRequest(file.getFileName() + " could not be read: " + e.getMessage());
        }
        return rows;
    }

    void search(Context ctx) {
        String q = ctx.queryParam("q") == null ? "" : ctx.queryParam("q").strip();
        int limit = QueryParams.intParam(ctx, "limit", 50, 1, MAX_LIMIT);
        if (q.length() > 500) throw ApiException.badRequest("'q' is longer than 500 characters", "q");
        List<String> words = Arrays.stream(q.toLowerCase(Locale.ROOT).split("\\s+")).filter(w -> !w.isEmpty()).toList();
        List<View> hits = new ArrayList<>();
        for (ExplanationsFile.Row r : rows()) {
            String text = r.explanation() == null ? "" : r.explanation().toLowerCase(Locale.ROOT);
            if (words.stream().allMatch(text::contains)) hits.add(View.of(r));
        }
        // best scored first (detection then fuzzing), so a search shows the explanations that held up
        hits.sort((a, b) -> Double.compare(score(b), score(a)));
        ctx.json(new Found(q, hits.size(), hits.subList(0, Math.min(limit, hits.size()))));
    }

    private static double score(View v) {
        return (v.detection() == null ? 0 : v.detection()) + (v.fuzzing() == null ? 0 : v.fuzzing());
    }

    void forFeature(Context ctx, int feature) {
        List<View> out = rows().stream().filter(r -> r.featureId() == feature).map(View::of).toList();
        ctx.json(new ForFeature(feature, out));
    }
}
