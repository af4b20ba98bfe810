package dev.loupe.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.io.LoupeJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * run.json and shard markers as records: written and read back, and each kind of damage refused as wrong input (a
 * {@link BadInputException}, not a bug) in one line naming file and field.
 */
class RunManifestTest {
    @TempDir Path tmp;

    /** A complete two-SAE run of two shards, as the indexer would describe it. */
    static RunManifest sample() {
        RunManifest head = RunManifest.start(new RunManifest.ModelEntry("/models/tiny.gguf", "tiny.gguf", 4, 64, 512),
                List.of(new RunManifest.SaeEntry("a", "a", "/saes/a", "blocks.2.hook_resid_post", 256, 64, "jumprelu"),
                        new RunManifest.SaeEntry("b", "b", "/saes/b", "blocks.1.hook_resid_post", 128, 64, "standard")),
                new RunManifest.CorpusEntry("/data/corpus.txt", "ab".repeat(32)),
                RunManifest.Options.of(IndexOptions.defaults().withContext(16).withShardTokens(40), 1024), null);
        return head.completed(new RunManifest.Contents(3, 70, 900,
                List.of(new RunManifest.ShardEntry("activations-00000.arrow", 0, 40, List.of(400L, 100L)),
                        new RunManifest.ShardEntry("activations-00001.arrow", 40, 30, List.of(300L, 100L))),
                List.of(new RunManifest.FileEntry("a/activations-00000.arrow", 1234, "0a1b2c3d"),
                        new RunManifest.FileEntry("tokens.arrow", 99, "deadbeef"))));
    }

    private Path written(RunManifest m) throws IOException {
        Path f = tmp.resolve("run.json");
        m.write(f);
        return f;
    }

    /** Writes the sample's run.json edited by {@code edit}, with its run id recomputed (so the edit is what is checked). */
    private Path edited(Consumer<ObjectNode> edit) throws IOException {
        Path f = written(sample());
        ObjectNode j = (ObjectNode) LoupeJson.MAPPER.readTree(f.toFile());
        edit.accept(j);
        j.put("run_id", RunManifest.runId(j));
        Files.writeString(f, LoupeJson.PRETTY.writeValueAsString(j));
        return f;
    }

    private static String refused(Path f) {
        BadInputException e = assertThrows(BadInputException.class, () -> RunManifest.read(f));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        return e.getMessage().substring(f.toString().length() + 2);
    }

    @Test void aRunJsonReadsBackAsWritten() throws IOException {
        RunManifest m = sample();
        assertEquals(m, RunManifest.read(written(m)));
        RunManifest head = new RunManifest(m.formatVersion(), m.loupeVersion(), m.runId(), m.model(), m.saes(), m.corpus(), m.options(), null);
        RunManifest back = RunManifest.read(written(head));
        assertEquals(head, back);
        assertFalse(back.complete());
        assertEquals(List.of("blocks.2.hook_resid_post", "blocks.1.hook_resid_post"), back.hooks());
    }

    /**
     * The run id is SHA-256 over run.json's identity fields as compact JSON without the paths, cut to 128 bits: the
     * value below was computed with Python's hashlib and json.dumps(separators=(",", ":")) over the sample's
     * fields, so runs written before this code (and by it) keep their ids.
     */
    @Test void theRunIdIsTheHashOfTheIdentityFields() throws IOException {
        JsonNode j = LoupeJson.MAPPER.readTree(written(sample()).toFile());
        assertEquals("07e3e36e654f693732f929b4c12da8f9", sample().runId());
        assertEquals(sample().runId(), j.get("run_id").asText());
        assertEquals(sample().runId(), RunManifest.runId(j));
    }

    @Test void aMissingFieldIsNamed() throws IOException {
        assertEquals("missing field \"options.batch_tokens\"", refused(edited(j -> ((ObjectNode) j.get("options")).remove("batch_tokens"))));
        assertEquals("missing field \"saes[1].d_sae\"", refused(edited(j -> ((ObjectNode) j.get("saes").get(1)).remove("d_sae"))));
        assertEquals("missing field \"checksums[1].crc32c\"", refused(edited(j -> ((ObjectNode) j.get("checksums").get(1)).remove("crc32c"))));
        assertEquals("missing field \"run_id\"", refusedWithout("run_id"));
    }

    private String refusedWithout(String field) throws IOException {
        Path f = written(sample());
        ObjectNode j = (ObjectNode) LoupeJson.MAPPER.readTree(f.toFile());
        j.remove(field);
        Files.writeString(f, j.toString());
        return refused(f);
    }

    @Test void aFieldOfTheWrongTypeOrRangeIsNamed() throws IOException {
        assertEquals("saes[0].d_sae is \"many\", expected a whole number >= 1",
                refused(edited(j -> ((ObjectNode) j.get("saes").get(0)).put("d_sae", "many"))));
        assertEquals("options.batch_tokens is 0, expected a whole number >= 1",
                refused(edited(j -> ((ObjectNode) j.get("options")).put("batch_tokens", 0))));
        assertEquals("options.context is 2.5, expected a whole number >= 2", refused(edited(j -> ((ObjectNode) j.get("options")).put("context", 2.5))));
        assertEquals("options.compression is \"gzip\", expected zstd, lz4 or none",
                refused(edited(j -> ((ObjectNode) j.get("options")).put("compression", "gzip"))));
        assertEquals("model is \"tiny\", expected an object", refused(edited(j -> j.put("model", "tiny"))));
        assertEquals("shards[0].rows is [400], expected one count per SAE (2)",
                refused(edited(j -> ((ArrayNode) j.get("shards").get(0).get("rows")).remove(1))));
        assertEquals("tokens is -1, expected a whole number >= 0", refused(edited(j -> j.put("tokens", -1))));
    }

    @Test void shardsThatDoNotTileTheTokensAreRefused() throws IOException {
        assertEquals("shards[1].first_token is 41, expected 40 (the tokens of the shards before it)",
                refused(edited(j -> ((ObjectNode) j.get("shards").get(1)).put("first_token", 41))));
        assertEquals("the shards hold 70 tokens but \"tokens\" is 71", refused(edited(j -> j.put("tokens", 71))));
    }

    @Test void anEditedIdentityAFormatAndADirOutsideTheRun() throws IOException {
        Path f = written(sample());
        ObjectNode j = (ObjectNode) LoupeJson.MAPPER.readTree(f.toFile());
        ((ObjectNode) j.get("options")).put("top_k", 3);
        Files.writeString(f, j.toString());
        assertTrue(refused(f).startsWith("its model, SAE, corpus or options fields do not match its run_id"), refused(f));
        assertEquals("\"format\" is not \"loupe-corpus-run\" (not a Loupe corpus run)", refused(edited(j2 -> j2.put("format", "other"))));
        assertTrue(refused(edited(j2 -> j2.put("format_version", 1))).startsWith("format_version 1 was written by an older Loupe"));
        assertTrue(refused(edited(j2 -> ((ObjectNode) j2.get("saes").get(0)).put("dir", "../elsewhere")))
                .startsWith("SAE 'a' has dir \"../elsewhere\", which is outside the run folder"));
        Files.writeString(f, "{\"format\": ");
        assertTrue(refused(f).startsWith("not valid JSON ("), refused(f));
        Files.writeString(f, "[1, 2]");
        assertEquals("expected a JSON object", refused(f));
    }

    // ---- shard markers ----------------------------------------------------------------------------------

    static ShardMarker marker() {
        return new ShardMarker(3, 120, 40, 7, 2, List.of(410L, 99L),
                List.of(new ShardMarker.DocumentPiece(5, "c.txt:6", 30, 120, 10), new ShardMarker.DocumentPiece(6, null, 0, 130, 30)),
                List.of(new RunManifest.FileEntry("a/activations-00003.arrow", 10, "00000001"),
                        new RunManifest.FileEntry(".partial/tokens-00003.arrow", 20, "00000002")));
    }

    @Test void aMarkerReadsBackAsWritten() throws IOException {
        Path f = tmp.resolve("shard-00003.json");
        marker().write(f);
        assertEquals(marker(), ShardMarker.read(f, 3, 2));
        assertNull(ShardMarker.read(f, 3, 2).documents().get(1).source(), "a document without a source stays without one");
    }

    @Test void aDamagedMarkerIsNamed() throws IOException {
        Path f = tmp.resolve("shard-00003.json");
        marker().write(f);
        BadInputException e = assertThrows(BadInputException.class, () -> ShardMarker.read(f, 4, 2));
        assertEquals(f + ": shard is 3, expected 4 (the number in its name)", e.getMessage());
        e = assertThrows(BadInputException.class, () -> ShardMarker.read(f, 3, 1));
        assertEquals(f + ": rows is [410,99], expected one count per SAE (1)", e.getMessage());
        ObjectNode j = (ObjectNode) LoupeJson.MAPPER.readTree(f.toFile());
        ((ObjectNode) j.get("documents").get(0)).put("tokens", "ten");
        ((ArrayNode) j.get("files")).removeAll();
        Files.writeString(f, j.toString());
        e = assertThrows(BadInputException.class, () -> ShardMarker.read(f, 3, 2));
        assertEquals(f + ": documents[0].tokens is \"ten\", expected a whole number >= 0", e.getMessage());
        ((ObjectNode) j.get("documents").get(0)).put("tokens", 10);
        Files.writeString(f, j.toString());
        e = assertThrows(BadInputException.class, () -> ShardMarker.read(f, 3, 2));
        assertEquals(f + ": lists no files: the marker is damaged", e.getMessage());
    }
}
