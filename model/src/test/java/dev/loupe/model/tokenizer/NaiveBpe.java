package dev.loupe.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deliberately simple reference for Gemma's tokenizer.json, written from the fixture's description:
 * reserved pieces (ids 0..216 and 255968..255999) whole on the raw text, leftmost longest; spaces to
 * ▁; then BPE that rescans for the lowest-ranked merge after every merge (quadratic, so only for tests).
 */
final class NaiveBpe {
    private final Map<String, Integer> vocab = new HashMap<>();
    private final Map<String, Integer> ranks = new HashMap<>();
    private final List<String> reserved = new ArrayList<>();

    NaiveBpe(Tokenizer forPieces, Path tokenizerJson) {
        JsonNode model;
        try {
            model = new ObjectMapper().readTree(tokenizerJson.toFile()).get("model");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        model.get("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        int rank = 0;
        for (JsonNode m : model.get("merges")) ranks.put(m.asText(), rank++);
        for (int id = 0; id <= 216; id++) reserved.add(forPieces.piece(id));
        for (int id = 255968; id < 256000; id++) reserved.add(forPieces.piece(id));
    }

    int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        out.add(2);
        int segment = 0, i = 0;
        while (i < text.length()) {
            String best = null;
            for (String r : reserved) if (text.startsWith(r, i) && (best == null || r.length() > best.length())) best = r;
            if (best == null) {
                i++;
                continue;
            }
            bpe(text.substring(segment, i), out);
            out.add(vocab.get(best));
            i = segment = i + best.length();
        }
        bpe(text.substring(segment), out);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void bpe(String raw, List<Integer> out) {
        String s = raw.replace(" ", "▁");
        List<String> symbols = new ArrayList<>();
        s.codePoints().forEach(cp -> {
            String ch = Character.toString(cp);
            if (vocab.containsKey(ch)) symbols.add(ch);
            else for (byte b : ch.getBytes(StandardCharsets.UTF_8)) symbols.add(String.format("<0x%02X>", b & 0xff));
        });
        while (true) {
            int bestRank = Integer.MAX_VALUE, at = -1;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer r = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    at = i;
                }
            }
            if (at < 0) break;
            symbols.set(at, symbols.get(at) + symbols.remove(at + 1));
        }
        for (String sym : symbols) out.add(vocab.get(sym));
    }
}
