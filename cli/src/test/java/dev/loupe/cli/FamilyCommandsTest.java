package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import dev.loupe.model.weights.FixtureVariants;
import dev.loupe.model.weights.HfCheckpoint;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.tools.model.GgufExport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The issue's command lines, exactly, on Gemma 1 and Gemma 3 folders (F32, BF16, single and sharded) and on a Gemma 1
 * GGUF written from the fixture weights: {@code run} writes logits and every {@code hook_resid_post} within 5e-3 of
 * transformers' float64 references, {@code generate --json} prints transformers' greedy ids.
 */
class FamilyCommandsTest {
    @TempDir Path dir;

    private Path model(String variant) throws Exception {
        String fixture = variant.substring(0, variant.indexOf('/'));
        String form = variant.substring(variant.indexOf('/') + 1);
        Path root = Fixtures.root().resolve(fixture);
        return switch (form) {
            case "hf", "hf-bf16" -> root.resolve(form);
            case "sharded" -> FixtureVariants.sharded(root.resolve("hf-bf16"), dir.resolve("sharded"), 64 * 1024);
            case "gguf" -> gguf(root.resolve("hf"), dir.resolve("model.gguf"));
            default -> throw new IllegalArgumentException(variant);
        };
    }

    /** {@code hf} written as a GGUF file by the tools module's exporter (norms as {@code 1 + w}, as llama.cpp's converter stores them). */
    private static Path gguf(Path hf, Path out) throws java.io.IOException {
        try (ModelWeights w = HfCheckpoint.load(hf)) {
            GgufExport.write(w, out);
        }
        return out;
    }

    private static String csv(int[] ids) { return Arrays.stream(ids).mapToObj(String::valueOf).collect(Collectors.joining(",")); }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-g1a/hf", "tiny-g1a/hf-bf16", "tiny-g1a/sharded", "tiny-g1a/gguf",
            "tiny-g3/hf", "tiny-g3/hf-bf16", "tiny-g3/sharded"})
    void runAndGenerateAsTheIssueSpellsThem(String variant) throws Exception {
        Path refs = Fixtures.root().resolve(variant.substring(0, variant.indexOf('/')));
        Path model = model(variant);
        int[] tokens = Fixtures.npy(refs.resolve("tokens.npy")).ints();
        Path out = dir.resolve("logits.npy"), cache = dir.resolve("cache");
        Cli.Result r = Cli.run("run", "--model", model.toString(), "--token-ids", csv(tokens), "--logits", out.toString(),
                "--cache", "blocks.*.hook_resid_post", "--cache-dir", cache.toString());
        assertEquals(0, r.exit(), r.err());
        Npy.Array logits = Npy.read(out), ref = Fixtures.npy(refs.resolve("logits.npy"));
        assertArrayEquals(ref.shape(), logits.shape());
        for (int i = 0; i < ref.size(); i++) assertEquals(ref.data()[i], logits.data()[i], 5e-3f, variant + " logit " + i);
        Npy.Array resid = Fixtures.npy(refs.resolve("resid_post.npy"));
        int per = resid.shape()[1] * resid.shape()[2];
        for (int l = 0; l < resid.shape()[0]; l++) {
            Npy.Array got = Npy.read(cache.resolve("blocks." + l + ".hook_resid_post.npy"));
            for (int i = 0; i < per; i++) assertEquals(resid.data()[l * per + i], got.data()[i], 5e-3f, variant + " resid_post " + l);
        }

        int[] prompt = Fixtures.npy(refs.resolve("gen_prompt.npy")).ints(), expected = Fixtures.npy(refs.resolve("gen_ids.npy")).ints();
        Cli.Result g = Cli.run("generate", "--model", model.toString(), "--token-ids", csv(prompt), "--max-tokens", String.valueOf(expected.length), "--json");
        assertEquals(0, g.exit(), g.err());
        assertEquals(1, g.out().strip().lines().count(), g.out());
        JsonNode json = new ObjectMapper().readTree(g.out());
        assertArrayEquals(expected, ints(json.get("generated_ids")), variant);
        assertTrue(json.get("stopped_at").isNull());
    }

    /** Generation stops at generation_config.json's eos id, and generated_ids ends with it, as transformers returns them. */
    @Test
    void generatedIdsEndWithTheEosIdGenerationStoppedAt() throws Exception {
        Path refs = Fixtures.root().resolve("tiny-g1a");
        Path model = FixtureVariants.sharded(refs.resolve("hf"), dir.resolve("eos"), 64 * 1024);
        int[] expected = Fixtures.npy(refs.resolve("gen_ids.npy")).ints();
        int eos = expected[2];
        Files.writeString(model.resolve("generation_config.json"), "{\"bos_token_id\": 2, \"eos_token_id\": [1, " + eos + "]}");
        Cli.Result g = Cli.run("generate", "--model", model.toString(), "--token-ids", csv(Fixtures.npy(refs.resolve("gen_prompt.npy")).ints()),
                "--max-tokens", "16", "--json");
        assertEquals(0, g.exit(), g.err());
        JsonNode json = new ObjectMapper().readTree(g.out());
        assertArrayEquals(Arrays.copyOf(expected, 3), ints(json.get("generated_ids")));
        assertEquals(eos, json.get("stopped_at").asInt());
    }

    @Test
    void generateTakesEitherAPromptOrTokenIds() {
        Path model = Fixtures.root().resolve("tiny-g1a/hf");
        Cli.Result both = Cli.run("generate", "--model", model.toString(), "--token-ids", "2,5", "--prompt", "hi");
        assertEquals(2, both.exit(), both.err());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
        Cli.Result bad = Cli.run("generate", "--model", model.toString(), "--token-ids", "2,x", "--json");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--token-ids"), bad.err());
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }
}
