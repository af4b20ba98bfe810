package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.loupe.errors.BadInputException;

import java.io.IOException;
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
    // 256k distinct piece names as JSON keys: interning or canonicalizing them only costs time.
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    private final String where;
    private String[] pieces;
    private PieceIndex ids;
    /** Merges resolved to ids while streaming (the vocabulary comes first in every file seen so far). */
    private final IntList mergeLeft = new IntList(1 << 16), mergeRight = new IntList(1 << 16), mergeResult = new IntList(1 << 16);
    /** Merges met before the vocabulary, resolved at the end. */
    private final List<String> pendingMerges = new ArrayList<>();
    private String modelType;
    private boolean byteFallback, fuseUnk, ignoreMerges;
    private String unkToken;
    private JsonValue addedTokens = JsonValue.MISSING, normalizer = JsonValue.MISSING, preTokenizer = JsonValue.MISSING,
            postProcessor = JsonValue.MISSING, decoder = JsonValue.MISSING;
    private TokenType[] types;

    private TokenizerJson(String where) { this.where = where; }

    /**
     * Reads {@code file}; {@code config} ({@code tokenizer_config.json}, may be null) names the
     * bos/eos tokens and may switch adding {@code <bos>} off.
     */
    static Tokenizer read(Path file, Path config) throws IOException {
        TokenizerJson json = new TokenizerJson(file.toString());
        try (JsonParser p = JSON.createParser(file.toFile())) {
            json.readTopLevel(p);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": malformed JSON" + at(e) + ": " + e.getOriginalMessage().replace('\n', ' '));
        }
        JsonValue cfg = JsonValue.MISSING;
        if (config != null) {
            try (JsonParser p = JSON.createParser(config.toFile())) {
                p.nextToken();
                cfg = JsonValue.read(p);
            } catch (JsonProcessingException e) {
                throw new IOException(config + ": malformed JSON" + at(e) + ": " + e.getOriginalMessage().replace('\n', ' '));
            }
        }
        return json.build(cfg, config == null ? null : config.toString());
    }

    /** " at line L, column C", or nothing: some errors (nesting too deep, number too long) carry no location. */
    private static String at(JsonProcessingException e) {
        var loc = e.getLocation();
        return loc == null || loc.getLineNr() < 0 ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private void readTopLevel(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) throw fail("expected a JSON object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "model" -> readModel(p);
                case "added_tokens" -> addedTokens = JsonValue.read(p);
                case "normalizer" -> normalizer = JsonValue.read(p);
                case "pre_tokenizer" -> preTokenizer = JsonValue.read(p);
                case "post_processor" -> postProcessor = JsonValue.read(p);
                case "decoder" -> decoder = JsonValue.read(p);
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
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String piece = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) throw fail("model.vocab[\"" + piece + "\"] must be an integer id");
            int id = p.getIntValue();
            if (id < 0) throw fail("model.vocab[\"" + piece + "\"] has negative id " + id);
            if (id >= byId.length) byId = Arrays.copyOf(byId, Math.max(byId.length * 2, id + 1));
            if (byId[id] != null) throw fail("model.vocab: id " + id + " is used by both \"" + byId[id] + "\" and \"" + piece + "\"");
            byId[id] = piece;
            max = Math.max(max, id);
        }
        pieces = Arrays.copyOf(byId, max + 1);
        for (int id = 0; id <= max; id++) if (pieces[id] == null) throw fail("model.vocab has no piece for id " + id);
        ids = new PieceIndex(pieces, where + ": model.vocab");
        for (String merge : pendingMerges) resolveMerge(merge.toCharArray(), 0, merge.length());
        pendingMerges.clear();
    }

    private void readMerges(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw fail("model.merges must be an array");
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t == JsonToken.VALUE_STRING) {
                if (ids == null) pendingMerges.add(p.getText());
                else resolveMerge(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
            } else if (t == JsonToken.START_ARRAY) {
                String left = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                String right = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                if (left == null || right == null || p.nextToken() != JsonToken.END_ARRAY) {
                    throw fail("model.merges[" + mergeCount() + "] must be a pair of pieces");
                }
                if (left.indexOf(' ') >= 0 || right.indexOf(' ') >= 0) {
                    throw fail("model.merges[" + mergeCount() + "]: pieces containing spaces are not supported");
                }
                String merge = left + " " + right;
                if (ids == null) pendingMerges.add(merge);
                else resolveMerge(merge.toCharArray(), 0, merge.length());
            } else {
                throw fail("model.merges[" + mergeCount() + "] must be a string \"a b\" or a pair [\"a\", \"b\"]");
            }
        }
    }

    private int mergeCount() { return mergeLeft.size() + pendingMerges.size(); }

    /** Resolves the merge "left right" held in {@code buf[off, off+len)} to the ids of left, right and their concatenation. */
    private void resolveMerge(char[] buf, int off, int len) {
        int space = -1, end = off + len;
        for (int i = off; i < end; i++) {
            if (buf[i] == ' ') {
                if (space >= 0) space = end; // two spaces: rejected below
                else space = i;
            }
        }
        if (space < 0 || space == end) {
            throw fail("model.merges[" + mergeCount() + "] \"" + new String(buf, off, len) + "\" is not two pieces separated by one space");
        }
        int left = ids.id(buf, off, space - off, -1);
        int right = ids.id(buf, space + 1, end - space - 1, -1);
        int merged = ids.id(buf, off, len, space);
        if (left < 0 || right < 0 || merged < 0) {
            String l = new String(buf, off, space - off), r = new String(buf, space + 1, end - space - 1);
            String missing = left < 0 ? l : right < 0 ? r : l + r;
            throw fail("model.merges[" + mergeCount() + "] \"" + l + " " + r + "\": \"" + missing + "\" is not in model.vocab");
        }
        mergeLeft.add(left);
        mergeRight.add(right);
        mergeResult.add(merged);
    }

    private Tokenizer build(JsonValue config, String configName) {
        if (modelType != null && !modelType.equals("BPE")) throw fail("model.type \"" + modelType + "\" is not supported (expected BPE)");
        if (ids == null) throw fail("model.vocab is missing");
        if (!preTokenizer.isMissingOrNull() && !splitsOnlyWhatTheNormalizerRemoved()) {
            throw fail("pre_tokenizer " + preTokenizer.get("type").text("?") + " is not supported (Gemma's tokenizer.json has none;"
                    + " Gemma 3's splits on a space the normalizer has already replaced)");
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

        PairRanks merges = new PairRanks(mergeLeft.size());
        for (int i = 0; i < mergeLeft.size(); i++) merges.add(mergeLeft.get(i), mergeRight.get(i), mergeResult.get(i));

        int bos = -1;
        boolean addBos = false;
        int[] prefix = templatePrefix();
        if (prefix.length > 0) {
            bos = prefix[0];
            addBos = true;
        }
        int eos = -1;
        if (config.isObject()) {
            String bosName = tokenName(config.get("bos_token"));
            if (bos < 0 && bosName != null) bos = configId(bosName, configName, "bos_token");
            String eosName = tokenName(config.get("eos_token"));
            if (eosName != null) eos = configId(eosName, configName, "eos_token");
            addBos = config.get("add_bos_token").bool(addBos);
            if (config.get("add_eos_token").bool(false)) {
                throw new BadInputException(configName + ": add_eos_token=true is not supported");
            }
        }
        if (bos < 0) bos = ids.id("<bos>");
        if (eos < 0) eos = ids.id("<eos>");

        Vocabulary vocab = new Vocabulary(pieces, types, ids, bos, eos, unk);
        return new PieceTokenizer(vocab, PieceMatcher.of(rawAtomic), normalizer(normalizer, "normalizer"),
                PieceMatcher.of(normalizedAtomic), new MergeRankBpe(vocab, merges, byteFallback, fuseUnk, ignoreMerges),
                decoder(), addBos);
    }

    /**
     * Gemma 3's pre-tokenizer: a {@code Split} on {@code " "} after a normalizer that replaced every {@code " "} by
     * {@code "▁"}. Pre-tokenizers see the normalized text (in tokenizers and in transformers.js), which then holds no
     * space to split on, so it changes nothing.
     */
    private boolean splitsOnlyWhatTheNormalizerRemoved() {
        if (!preTokenizer.get("type").text("").equals("Split") || preTokenizer.get("invert").bool(false)) return false;
        String pattern = preTokenizer.get("pattern").get("String").text(null);
        return pattern != null && !pattern.isEmpty() && normalizer.get("type").text("").equals("Replace")
                && pattern.equals(normalizer.get("pattern").get("String").text(null))
                && !normalizer.get("content").text("").contains(pattern);
    }

    /** Applies added_tokens: they may extend the vocabulary; special ones become control pieces. */
    private void readAddedTokens(Map<String, Integer> raw, Map<String, Integer> normalized) {
        if (addedTokens.isMissingOrNull()) return;
        if (!addedTokens.isArray()) throw fail("added_tokens must be an array");
        List<JsonValue> sorted = new ArrayList<>(addedTokens.elements());
        sorted.sort((a, b) -> Integer.compare(a.get("id").intId(), b.get("id").intId()));
        for (JsonValue t : sorted) {
            String content = t.get("content").text(null);
            int id = t.get("id").intId();
            if (content == null || id < 0) throw fail("added_tokens: every entry needs an \"id\" and a \"content\" (got " + t + ")");
            for (String flag : new String[] {"lstrip", "rstrip", "single_word"}) {
                if (t.get(flag).bool(false)) throw fail("added_tokens: \"" + content + "\" sets " + flag + ", which is not supported");
            }
            if (id < pieces.length) {
                if (!pieces[id].equals(content)) {
                    throw fail("added_tokens: id " + id + " is \"" + content + "\" but model.vocab has \"" + pieces[id] + "\"");
                }
            } else if (id == pieces.length) {
                if (ids.id(content) >= 0) throw fail("added_tokens: \"" + content + "\" is already in model.vocab");
                pieces = Arrays.copyOf(pieces, id + 1);
                pieces[id] = content;
                ids = new PieceIndex(pieces, where + ": added_tokens");
                types = Arrays.copyOf(types, id + 1);
            } else {
                throw fail("added_tokens: id " + id + " leaves a gap after the last id " + (pieces.length - 1));
            }
            boolean special = t.get("special").bool(false);
            types[id] = special ? TokenType.CONTROL : TokenType.USER_DEFINED;
            boolean isNormalized = t.get("normalized").bool(!special);
            (isNormalized ? normalized : raw).put(content, id);
        }
    }

    /** The special tokens the post-processor puts before the text ({@code [<bos>]} for Gemma). */
    private int[] templatePrefix() {
        if (postProcessor.isMissingOrNull()) return new int[0];
        String type = postProcessor.get("type").text("");
        if (!type.equals("TemplateProcessing")) throw fail("post_processor " + type + " is not supported (expected TemplateProcessing)");
        List<Integer> prefix = new ArrayList<>();
        boolean sawSequence = false;
        for (JsonValue piece : postProcessor.get("single").elements()) {
            if (piece.has("Sequence")) {
                sawSequence = true;
            } else if (piece.has("SpecialToken")) {
                if (sawSequence) throw fail("post_processor: special tokens after the text are not supported");
                String name = piece.get("SpecialToken").get("id").text("");
                JsonValue declared = postProcessor.get("special_tokens").get(name).get("ids");
                if (declared.isArray()) {
                    for (JsonValue i : declared.elements()) prefix.add(i.intId());
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

    private Normalizer normalizer(JsonValue n, String field) {
        if (n.isMissingOrNull()) return Normalizer.identity();
        String type = n.get("type").text("");
        return switch (type) {
            case "Replace" -> {
                String pattern = n.get("pattern").get("String").text(null);
                if (pattern == null) throw fail(field + ": only Replace with a plain String pattern is supported");
                yield Normalizer.replace(pattern, n.get("content").text(""));
            }
            case "Prepend" -> Normalizer.prepend(n.get("prepend").text(""));
            case "Sequence" -> {
                Normalizer all = Normalizer.identity();
                int i = 0;
                for (JsonValue step : n.get("normalizers").elements()) all = all.then(normalizer(step, field + ".normalizers[" + i++ + "]"));
                yield all;
            }
            default -> throw fail(field + ": " + (type.isEmpty() ? "missing type" : type + " is not supported"));
        };
    }

    private PieceDecoder decoder() {
        if (decoder.isMissingOrNull()) return new PieceDecoder(null, null, false);
        List<JsonValue> steps = decoder.get("type").text("").equals("Sequence") ? decoder.get("decoders").elements() : List.of(decoder);
        String marker = null, replacement = null;
        boolean byteFallbackDecoder = false;
        for (JsonValue step : steps) {
            String type = step.get("type").text("");
            switch (type) {
                case "Replace" -> {
                    if (marker != null || !step.get("pattern").get("String").isText()) {
                        throw fail("decoder: only one Replace with a plain String pattern is supported");
                    }
                    marker = step.get("pattern").get("String").text("");
                    replacement = step.get("content").text("");
                }
                case "ByteFallback" -> byteFallbackDecoder = true;
                case "Fuse" -> { } // the decoder concatenates pieces anyway
                default -> throw fail("decoder: " + (type.isEmpty() ? "missing type" : type + " is not supported"));
            }
        }
        return new PieceDecoder(marker, replacement, byteFallbackDecoder);
    }

    private static String tokenName(JsonValue n) {
        if (n.isText()) return n.text(null);
        return n.get("content").text(null);
    }

    private int idOf(String piece, String field) {
        int id = ids.id(piece);
        if (id < 0) throw fail(field + ": \"" + piece + "\" is not in the vocabulary");
        return id;
    }

    private int configId(String piece, String configName, String field) {
        int id = ids.id(piece);
        if (id < 0) throw new BadInputException(configName + ": " + field + " \"" + piece + "\" is not in the vocabulary");
        return id;
    }

    private IllegalArgumentException fail(String message) {
        return new BadInputException(where + ": " + message);
    }
}
