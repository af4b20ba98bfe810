package dev.loupe.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.errors.BadInputException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads run.json into a {@link RunInfo}, naming the file and field when something is missing. */
final class RunInfoJson {
    private RunInfoJson() {}

    static RunInfo parse(JsonNode j, Path file) {
        if (!"loupe-corpus-run".equals(j.path("format").asText())) {
            throw new BadInputException(file + ": \"format\" is not \"loupe-corpus-run\" (not a Loupe corpus run)");
        }
        List<RunInfo.SaeEntry> saes = new ArrayList<>();
        for (JsonNode s : require(j, "saes", file)) {
            saes.add(new RunInfo.SaeEntry(s.path("id").asText(), s.path("dir").asText("."), s.path("path").asText(),
                    s.path("hook").asText(), s.path("d_sae").asInt(), s.path("d_model").asInt()));
        }
        if (saes.isEmpty()) throw new BadInputException(file + ": \"saes\" is empty");
        Map<String, Object> options = new LinkedHashMap<>();
        j.path("options").properties().forEach(e -> options.put(e.getKey(),
                e.getValue().isNumber() ? e.getValue().numberValue() : e.getValue().isBoolean() ? e.getValue().booleanValue() : e.getValue().asText()));
        JsonNode model = require(j, "model", file);
        JsonNode corpus = j.path("corpus");
        return new RunInfo(j.path("loupe_version").asText(CorpusIndexer.LOUPE_VERSION), model.path("path").asText(), model.path("name").asText(),
                saes, corpus.path("path").isNull() ? null : corpus.path("path").asText(null), corpus.path("sha256").asText(null),
                j.path("documents").asLong(), j.path("tokens").asLong(), options, j.path("complete").asBoolean(false));
    }

    private static JsonNode require(JsonNode j, String field, Path file) {
        JsonNode n = j.get(field);
        if (n == null || n.isNull()) throw new BadInputException(file + ": missing field \"" + field + "\"");
        return n;
    }
}
