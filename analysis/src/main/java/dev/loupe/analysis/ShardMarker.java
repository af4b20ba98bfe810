package dev.loupe.analysis;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.io.LoupeJson;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The marker that makes a shard of an unfinished run count ({@code .partial/shard-NNNNN.json}), written after the
 * shard's files: where the shard sits in the corpus, where the next one starts, its documents and its files with
 * their lengths and checksums. Read and written only here, checked when read.
 *
 * @param firstToken the run's token row of the shard's first token (within its part, for a distributed run)
 * @param nextDoc    the document the next shard starts in
 * @param nextWindow the window of that document the next shard starts at
 * @param rows       the shard's activation rows, per SAE
 * @param documents  the documents (or pieces of them) the shard holds, in order
 * @param files      the shard's files (run-relative) with their lengths and checksums
 */
record ShardMarker(int shard, long firstToken, long tokens, int nextDoc, int nextWindow, List<Long> rows,
                   List<DocumentPiece> documents, List<RunManifest.FileEntry> files) {
    ShardMarker {
        rows = List.copyOf(rows);
        documents = List.copyOf(documents);
        files = List.copyOf(files);
    }

    /**
     * A document's tokens in one shard.
     *
     * @param source      where the document came from (null when its iterator gave none)
     * @param firstPos    the document position of its first token in the shard
     * @param tokenOffset the run's token row of that token
     */
    record DocumentPiece(int docId, String source, int firstPos, long tokenOffset, long tokens) {
        DocumentPiece plus(long more) { return new DocumentPiece(docId, source, firstPos, tokenOffset, tokens + more); }
    }

    void write(Path file) throws IOException {
        ObjectNode j = LoupeJson.MAPPER.createObjectNode().put("shard", shard).put("first_token", firstToken).put("tokens", tokens)
                .put("next_doc", nextDoc).put("next_window", nextWindow);
        ArrayNode r = j.putArray("rows");
        rows.forEach(r::add);
        ArrayNode d = j.putArray("documents");
        for (DocumentPiece p : documents) {
            d.addObject().put("doc_id", p.docId()).put("source", p.source()).put("first_pos", p.firstPos())
                    .put("token_offset", p.tokenOffset()).put("tokens", p.tokens());
        }
        ArrayNode f = j.putArray("files");
        for (RunManifest.FileEntry e : files) f.add(e.json());
        JsonFields.write(file, j);
    }

    /** Reads a marker of a run of {@code saes} SAEs, checking every field; {@code shard} is the number its name gives. */
    static ShardMarker read(Path file, int shard, int saes) throws IOException {
        JsonFields j = JsonFields.read(file);
        int at = j.integer("shard", 0);
        if (at != shard) throw j.invalid("shard", shard + " (the number in its name)");
        List<DocumentPiece> docs = new ArrayList<>();
        for (JsonFields d : j.objects("documents")) {
            docs.add(new DocumentPiece(d.integer("doc_id", 0), d.stringOr("source", null), d.integer("first_pos", 0),
                    d.whole("token_offset", 0), d.whole("tokens", 0)));
        }
        List<RunManifest.FileEntry> files = new ArrayList<>();
        for (JsonFields f : j.objects("files")) files.add(RunManifest.FileEntry.read(f));
        if (files.isEmpty()) throw j.fail("lists no files: the marker is damaged");
        List<Long> rows = j.longs("rows");
        if (rows.size() != saes) throw j.invalid("rows", "one count per SAE (" + saes + ")");
        return new ShardMarker(at, j.whole("first_token", 0), j.whole("tokens", 0), j.integer("next_doc", 0), j.integer("next_window", 0),
                rows, docs, files);
    }
}
