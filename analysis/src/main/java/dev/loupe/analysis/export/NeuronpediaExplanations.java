package dev.loupe.analysis.export;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.io.LoupeJson;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Explanations in Neuronpedia's explanation JSON (what its explanation export returns): an array of
 * {@code {"modelId", "layer" (the source id), "index" (a string), "description", "explanationModelName",
 * "typeName"}}. Scores are not part of it: imported explanations have none.
 */
public final class NeuronpediaExplanations {
    private NeuronpediaExplanations() {}

    public record Entry(String modelId, String layer, String index, String description, String explanationModelName, String typeName) {}

    /** What an import read. */
    public record Imported(List<ExplanationsFile.Row> rows, int otherSources) {}

    public static void write(Path file, String modelId, NeuronpediaSource source, List<ExplanationsFile.Row> rows) throws IOException {
        List<Entry> out = rows.stream().map(r -> new Entry(modelId, source.id(), String.valueOf(r.featureId()), r.explanation(),
                r.explainerModel(), r.method())).toList();
        AtomicFiles.write(file, LoupeJson.PRETTY.writeValueAsBytes(out));
    }

    /** The entries of {@code file} for {@code source} (others are counted, not read) as explanation rows. */
    public static Imported read(Path file, NeuronpediaSource source, int featureCount) throws IOException {
        JsonNode root;
        try {
            root = LoupeJson.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not JSON (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isArray()) throw new BadInputException(file + ": expected a JSON array of Neuronpedia explanations");
        List<ExplanationsFile.Row> rows = new ArrayList<>();
        int other = 0;
        long now = System.currentTimeMillis();
        for (int i = 0; i < root.size(); i++) {
            JsonNode e = root.get(i);
            String at = file + ": entry " + i;
            if (!e.isObject() || !e.path("description").isTextual() || e.get("index") == null) {
                throw new IOException(at + ": expected an object with \"index\" and \"description\"");
            }
            if (e.path("layer").isTextual() && !e.path("layer").textValue().equals(source.id())) {
                other++;
                continue;
            }
            int index;
            try {
                index = Integer.parseInt(e.get("index").asText().strip());
            } catch (NumberFormatException x) {
                throw new IOException(at + ": \"index\" must be a feature number, got " + e.get("index"));
            }
            if (index < 0 || index >= featureCount) throw new IOException(at + ": index " + index + " is outside the SAE's features 0.." + (featureCount - 1));
            rows.add(new ExplanationsFile.Row(index, e.get("description").textValue(), e.path("typeName").asText("neuronpedia"),
                    e.path("explanationModelName").asText(""), "", null, null, now));
        }
        return new Imported(rows, other);
    }
}
