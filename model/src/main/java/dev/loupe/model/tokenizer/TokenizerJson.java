package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} holding a BPE model with byte fallback, as Gemma's is:
 * streaming through the 256k-entry vocabulary and 580k merges, trees for the small sections.
 * Anything the file asks for that Gemma's does not use (pre-tokenizers, regex normalizers, dropout,
 * ...) is refused with a one-line error rather than silently ignored.
 */
final class TokenizerJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final String where;
    private String[] pieces = new String[0];
    private Map<String, Integer> ids;
    private final List<String> mergeLefts = new ArrayList<>();
    private final List<String> mergeRights = new ArrayList<>();
    private String modelType;
    private boolean byteFallback, fuseUnk, ignoreMerges;
    private String unkToken;
    private JsonNode addedTokens, normalizer, preTokenizer, postProcessor, decoder;
    private TokenType[] types;

    private TokenizerJson(String where) { this.where = where; }

    /**
     * Reads {@code file}; {@code config} ({@code tokenizer_config.json}, may be null) names the
     * bos/eos tokens and may switch adding {@code <bos>} off.
     */
    static Tokenizer read(Path file, Path config) throws IOException {
        TokenizerJson json = new TokenizerJson(file.toString());
        try (JsonParser p = MAPPER.getFactory().createParser(file.toFile())) {
            json.readTopLevel(p);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": malformed JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage().replace('\n', ' '));
        }
        JsonNode cfg = null;
        if (config != null) {
            try {
                cfg = MAPPER.readTree(config.toFile());
            } catch (JsonProcessingException e) {
                throw new IOException(config + ": malformed JSON at line " + e.getLocation().getLineNr()
                        + ": " + e.getOriginalMessage().replace('\n', ' '));
            }
        }
        return json.build(cfg, config == null ? null : config.toString());
    }

    private void readTopLevel(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) throw fail("expected a JSON object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "model" -> readModel(p);
                case "added_tokens" -> addedTokens = MAPPER.readTree(p);
                case "normalizer" -> normalizer = MAPPER.readTree(p);
                case "pre_tokenizer" -> preTokenizer = MAPPER.readTree(p);
                case "post_processor" -> postProcessor = MAPPER.readTree(p);
                case "decoder" -> decoder = MAPPER.readTree(p);
                default -> p.skipChildren();
            }
        }
    }

    private void readModel(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) throw fail("\"model\" must be an object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            switch (name) {
                case "type" -> modelType = p.getValueAsString();
                case "vocab" -> readVocab(p);
                case "merges" -> readMerges(p);
                case "byte_fallback" -> byteFallback = p.getValueAsBoolean();
                case "fuse_unk" -> fuseUnk = p.getValueAsBoolean();
                case "ignore_merges" -> ignoreMerges = p.getValueAsBoolean();
                case "unk_token" -> unkToken = value == JsonToken.VALUE_NULL ? null : p.getValueAsString();
                case "dropout" -> {
                    if (value != JsonToken.VALUE_NULL && p.getValueAsDouble() != 0) throw fail("model.dropout is not supported");
                }
                case "continuing_subword_prefix", "end_of_word_suffix" -> {
                    if (value != JsonToken.VALUE_NULL && !p.getValueAsString("").isEmpty()) {
                        throw fail("model." + name + " is not supported");
                    }
                }
                default -> p.skipChildren();
            }
        }
    }

    private void readVocab(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail("model.vocab must be an object of piece → id (a BPE model; Unigram vocabularies are not supported)");
        }
        String[] byId = new String[1 << 18];
        int max = -1;
        ids = HashMap.newHashMap(300_000);
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String piece = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) throw fail("model.vocab[\"" + piece + "\"] must be an integer id");
            int id = p.getIntValue();
            if (id < 0) throw fail("model.vocab[\"" + piece + "\"] has negative id " + id);
            if (id >= byId.length) byId = Arrays.copyOf(byId, Math.max(byId.length * 2, id + 1));
            if (byId[id] != null) throw fail("model.vocab: id " + id + " is used by both \"" + byId[id] + "\" and \"" + piece + "\"");
            if (ids.putIfAbsent(piece, id) != null) throw fail("model.vocab: piece \"" + piece + "\" appears twice");
            byId[id] = piece;
            max = Math.max(max, id);
        }
        pieces = Arrays.copyOf(byId, max + 1);
        for (int id = 0; id <= max; id++) if (pieces[id] == null) throw fail("model.vocab has no piece for id " + id);
    }

    private void readMerges(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw fail("model.merges must be an array");
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            int index = mergeLefts.size();
            if (t == JsonToken.VALUE_STRING) {
                String merge = p.getText();
                int space = merge.indexOf(' ');
                if (space < 0 || merge.indexOf(' ', space + 1) >= 0) {
                    throw fail("model.merges[" + index + "] \"" + merge + "\" is not two pieces separated by one space");
                }
                mergeLefts.add(merge.substring(0, space));
                mergeRights.add(merge.substring(space + 1));
            } else if (t == JsonToken.START_ARRAY) {
                String left = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                String right = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                if (left == null || right == null || p.nextToken() != JsonToken.END_ARRAY) {
                    throw fail("model.merges[" + index + "] must be a pair of pieces");
                }
                mergeLefts.add(left);
                mergeRights.add(right);
            } else {
                throw fail("model.merges[" + index + "] must be a string \"a b\" or a pair [\"a\", \"b\"]");
            }
        }
    }

    private Tokenizer build(JsonNode config, String configName) {
        if (modelType != null && !modelType.equals("BPE")) throw fail("model.type \"" + modelType + "\" is not supported (expected BPE)");
        if (ids == null) throw fail("model.vocab is missing");
        if (preTokenizer != null && !preTokenizer.isNull()) {
            throw fail("pre_tokenizer " + preTokenizer.path("type").asText("?") + " is not supported (Gemma's tokenizer.json has none)");
        }

        types = new TokenType[pieces.length];
        Arrays.fill(types, TokenType.NORMAL);
        for (int id = 0; id < pieces.length; id++) if (Vocabulary.byteValue(pieces[id]) >= 0) types[id] = TokenType.BYTE;

        Map<String, Integer> rawAtomic = new HashMap<>(), normalizedAtomic = new HashMap<>();
        readAddedTokens(rawAtomic, normalizedAtomic);
        if (GemmaReservedPieces.isGemmaVocabulary(pieces) && !rawAtomic.containsKey("<start_of_turn>")
                && !normalizedAtomic.containsKey("<start_of_turn>")) {
            GemmaReservedPieces.apply(types, id -> rawAtomic.put(pieces[id], id));
        }

        int unk = -1;
        if (unkToken != null) {
            unk = idOf(unkToken, "model.unk_token");
            if (types[unk] == TokenType.NORMAL || types[unk] == TokenType.CONTROL) types[unk] = TokenType.UNKNOWN;
        }

        PairRanks merges = new PairRanks(mergeLefts.size());
        for (int i = 0; i < mergeLefts.size(); i++) {
            String left = mergeLefts.get(i), right = mergeRights.get(i);
            Integer l = ids.get(left), r = ids.get(right), m = ids.get(left + right);
            if (l == null || r == null || m == null) {
                String missing = l == null ? left : r == null ? right : left + right;
                throw fail("model.merges[" + i + "] \"" + left + " " + right + "\": \"" + missing + "\" is not in model.vocab");
            }
            merges.add(l, r, m);
        }
        mergeLefts.clear();
        mergeRights.clear();

        int bos = -1;
        boolean addBos = false;
        int[] prefix = templatePrefix();
        if (prefix.length > 0) {
            bos = prefix[0];
            addBos = true;
        }
        int eos = -1;
        if (config != null) {
            String bosName = tokenName(config.get("bos_token"));
            if (bos < 0 && bosName != null) bos = configId(bosName, configName, "bos_token");
            String eosName = tokenName(config.get("eos_token"));
            if (eosName != null) eos = configId(eosName, configName, "eos_token");
            JsonNode add = config.get("add_bos_token");
            if (add != null && add.isBoolean()) addBos = add.asBoolean();
            JsonNode addEos = config.get("add_eos_token");
            if (addEos != null && addEos.asBoolean(false)) {
                throw new IllegalArgumentException(configName + ": add_eos_token=true is not supported");
            }
        }
        if (bos < 0) bos = ids.getOrDefault("<bos>", -1);
        if (eos < 0) eos = ids.getOrDefault("<eos>", -1);

        Vocabulary vocab = new Vocabulary(pieces, types, ids, bos, eos, unk);
        return new PieceTokenizer(vocab, PieceMatcher.of(rawAtomic), normalizer(normalizer, "normalizer"),
                PieceMatcher.of(normalizedAtomic), new MergeRankBpe(vocab, merges, byteFallback, fuseUnk, ignoreMerges),
                decoder(), addBos);
    }

    /** Applies added_tokens: they may extend the vocabulary; special ones become control pieces. */
    private void readAddedTokens(Map<String, Integer> raw, Map<String, Integer> normalized) {
        if (addedTokens == null || addedTokens.isNull()) return;
        if (!addedTokens.isArray()) throw fail("added_tokens must be an array");
        List<JsonNode> sorted = new ArrayList<>();
        addedTokens.forEach(sorted::add);
        sorted.sort((a, b) -> Integer.compare(a.path("id").asInt(-1), b.path("id").asInt(-1)));
        for (JsonNode t : sorted) {
            String content = t.path("content").isTextual() ? t.get("content").asText() : null;
            int id = t.path("id").isIntegralNumber() ? t.get("id").asInt() : -1;
            if (content == null || id < 0) throw fail("added_tokens: every entry needs an \"id\" and a \"content\" (got " + t + ")");
            for (String flag : new String[] {"lstrip", "rstrip", "single_word"}) {
                if (t.path(flag).asBoolean(false)) throw fail("added_tokens: \"" + content + "\" sets " + flag + ", which is not supported");
            }
            if (id < pieces.length) {
                if (!pieces[id].equals(content)) {
                    throw fail("added_tokens: id " + id + " is \"" + content + "\" but model.vocab has \"" + pieces[id] + "\"");
                }
            } else if (id == pieces.length) {
                if (ids.containsKey(content)) throw fail("added_tokens: \"" + content + "\" is already in model.vocab");
                pieces = Arrays.copyOf(pieces, id + 1);
                pieces[id] = content;
                ids.put(content, id);
                types = Arrays.copyOf(types, id + 1);
            } else {
                throw fail("added_tokens: id " + id + " leaves a gap after the last id " + (pieces.length - 1));
            }
            boolean special = t.path("special").asBoolean(false);
            types[id] = special ? TokenType.CONTROL : TokenType.USER_DEFINED;
            boolean isNormalized = t.path("normalized").asBoolean(!special);
            (isNormalized ? normalized : raw).put(content, id);
        }
    }

    /** The special tokens the post-processor puts before the text ({@code [<bos>]} for Gemma). */
    private int[] templatePrefix() {
        if (postProcessor == null || postProcessor.isNull()) return new int[0];
        String type = postProcessor.path("type").asText("");
        if (!type.equals("TemplateProcessing")) throw fail("post_processor " + type + " is not supported (expected TemplateProcessing)");
        List<Integer> prefix = new ArrayList<>();
        boolean sawSequence = false;
        for (JsonNode piece : postProcessor.path("single")) {
            if (piece.has("Sequence")) {
                sawSequence = true;
            } else if (piece.has("SpecialToken")) {
                if (sawSequence) throw fail("post_processor: special tokens after the text are not supported");
                String name = piece.get("SpecialToken").path("id").asText();
                JsonNode declared = postProcessor.path("special_tokens").path(name).path("ids");
                if (declared.isArray()) {
                    for (JsonNode i : declared) prefix.add(i.asInt());
                } else {
                    prefix.add(idOf(name, "post_processor"));
                }
            } else {
                throw fail("post_processor.single: unexpected entry " + piece);
            }
        }
        if (prefix.size() > 1) throw fail("post_processor: more than one token before the text is not supported");
        for (int id : prefix) if (id < 0 || id >= pieces.length) throw fail("post_processor: token id " + id + " is outside the vocabulary");
        return prefix.stream().mapToInt(Integer::intValue).toArray();
    }

    private Normalizer normalizer(JsonNode n, String field) {
        if (n == null || n.isNull()) return Normalizer.identity();
        String type = n.path("type").asText("");
        return switch (type) {
            case "Replace" -> {
                JsonNode pattern = n.path("pattern");
                if (!pattern.path("String").isTextual()) throw fail(field + ": only Replace with a plain String pattern is supported");
                yield Normalizer.replace(pattern.get("String").asText(), n.path("content").asText());
            }
            case "Prepend" -> Normalizer.prepend(n.path("prepend").asText());
            case "Sequence" -> {
                Normalizer all = Normalizer.identity();
                int i = 0;
                for (JsonNode step : n.path("normalizers")) all = all.then(normalizer(step, field + ".normalizers[" + i++ + "]"));
                yield all;
            }
            default -> throw fail(field + ": " + (type.isEmpty() ? "missing type" : type + " is not supported"));
        };
    }

    private PieceDecoder decoder() {
        if (decoder == null || decoder.isNull()) return new PieceDecoder(null, null, false);
        List<JsonNode> steps = new ArrayList<>();
        if (decoder.path("type").asText().equals("Sequence")) decoder.path("decoders").forEach(steps::add);
        else steps.add(decoder);
        String marker = null, replacement = null;
        boolean byteFallbackDecoder = false;
        for (JsonNode step : steps) {
            String type = step.path("type").asText("");
            switch (type) {
                case "Replace" -> {
                    if (marker != null || !step.path("pattern").path("String").isTextual()) {
                        throw fail("decoder: only one Replace with a plain String pattern is supported");
                    }
                    marker = step.get("pattern").get("String").asText();
                    replacement = step.path("content").asText();
                }
                case "ByteFallback" -> byteFallbackDecoder = true;
                case "Fuse" -> { } // the decoder concatenates pieces anyway
                default -> throw fail("decoder: " + (type.isEmpty() ? "missing type" : type + " is not supported"));
            }
        }
        return new PieceDecoder(marker, replacement, byteFallbackDecoder);
    }

    private static String tokenName(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        return n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    private int idOf(String piece, String field) {
        Integer id = ids.get(piece);
        if (id == null) throw fail(field + ": \"" + piece + "\" is not in the vocabulary");
        return id;
    }

    private int configId(String piece, String configName, String field) {
        Integer id = ids.get(piece);
        if (id == null) throw new IllegalArgumentException(configName + ": " + field + " \"" + piece + "\" is not in the vocabulary");
        return id;
    }

    private IllegalArgumentException fail(String message) {
        return new IllegalArgumentException(where + ": " + message);
    }
}
