package dev.loupe.model.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one JSON setup for files Loupe reads and writes (checkpoint headers and configs, SAE configs, corpus lines,
 * run folders, command output). The web API keeps its own snake_case mapper for OpenAI's wire format; the tokenizer
 * reads tokenizer.json with jackson-core alone, because starting a mapper costs more than reading the vocabulary.
 */
public final class LoupeJson {
    private LoupeJson() {}

    /** Strict reading: trailing content and duplicate keys are errors (both mean a damaged file, not a usable one). */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    /** Indented output, for files people read (run.json, config.json) and --json output. */
    public static final ObjectWriter PRETTY = MAPPER.writerWithDefaultPrettyPrinter();

    /** Jackson's message without its source excerpt, plus the line and column. */
    public static String describe(JsonProcessingException e) {
        String m = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        m = m.replaceAll("\\s*\\(start marker at .*$", "").replace('\n', ' ').trim();
        JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 0 ? m : m + " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }
}
