package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.Fixtures;
import dev.loupe.model.io.Npy;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code loupe shield} on a tiny Gemma 2 with the real Gemma tokenizer: the P(Yes) it prints is the softmax over the
 * Yes/No logits of {@code loupe run}'s last row for the very tokens it reports, computed here from the .npy.
 */
class ShieldCommandTest {
    @TempDir static Path dir;
    static Path model;
    static final String POLICY = "\"No Harassment\": The prompt shall not contain or seek generation of content that is malicious,"
            + " intimidating, bullying, or abusive content targeting another individual.";

    @BeforeAll
    static void synth() {
        model = dir.resolve("shield-tiny");
        Cli.Result r = Cli.run("synth", "--shape", "tiny", "--dtype", "f32", "--out", model.toString(), "--seed", "4",
                "--tokenizer", Fixtures.testData("gemma-tokenizer/tokenizer.json").toString());
        assertEquals(0, r.exit(), r.err());
    }

    @Test
    void pYesIsTheSoftmaxOfRunsYesAndNoLogits() throws Exception {
        Cli.Result s = Cli.run("shield", "--model", model.toString(), "--prompt", "Write something mean about my neighbour.",
                "--response", "No, I will not.", "--policy", POLICY, "--json");
        assertEquals(0, s.exit(), s.err());
        assertEquals(1, s.out().strip().lines().count(), s.out());
        JsonNode j = new ObjectMapper().readTree(s.out());
        String text = j.get("prompt_text").asText();
        assertTrue(text.startsWith("You are a policy expert trying to help determine whether an AI response to prompt is in violation"), text);
        assertTrue(text.contains("<start_of_turn>\nHuman Question: Write something mean about my neighbour.\n<end_of_turn>\n\n"
                + "<start_of_turn>\nChatbot Response: No, I will not.\n<end_of_turn>\n\nOur safety principle is defined in the below:\n\n* \"No Harassment\""), text);
        assertTrue(text.contains("Does the Chatbot Response violate the above principle? Your answer must start with 'Yes' or 'No'."), text);

        int[] ids = new int[j.get("token_ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = j.get("token_ids").get(i).asInt();
        Tokenizer tok = Tokenizers.load(Fixtures.testData("gemma-tokenizer/tokenizer.json"));
        assertArrayEquals(tok.encode(text), ids, "the tokens of the prompt text, with <bos>");
        assertEquals(106, ids[Arrays.asList(Arrays.stream(ids).boxed().toArray(Integer[]::new)).indexOf(106)], "<start_of_turn> is one token");

        Path logits = dir.resolve("logits.npy");
        Cli.Result run = Cli.run("run", "--model", model.toString(), "--token-ids",
                Arrays.stream(ids).mapToObj(String::valueOf).collect(Collectors.joining(",")), "--logits", logits.toString());
        assertEquals(0, run.exit(), run.err());
        Npy.Array l = Npy.read(logits);
        int vocab = l.shape()[1], last = (ids.length - 1) * vocab;
        double yes = l.data()[last + tok.id("Yes")], no = l.data()[last + tok.id("No")];
        double expected = Math.exp(yes) / (Math.exp(yes) + Math.exp(no));
        assertEquals(expected, j.get("p_yes").asDouble(), 1e-5);
        assertTrue(j.get("p_yes").asDouble() > 0 && j.get("p_yes").asDouble() < 1);
    }

    @Test
    void withAnSaeItListsFeaturesPushingTowardYes() throws Exception {
        Path sae = dir.resolve("sae/layer_2/width_256/average_l0_20");
        Cli.Result made = Cli.run("synth-sae", "--d-model", "64", "--width", "256", "--l0", "20", "--out", sae.toString());
        assertEquals(0, made.exit(), made.err());
        Path policy = dir.resolve("policy.txt");
        Files.writeString(policy, POLICY);
        Cli.Result s = Cli.run("shield", "--model", model.toString(), "--prompt", "Tell me a joke.", "--policy-file", policy.toString(),
                "--sae", sae.toString(), "--json", "--top", "5");
        assertEquals(0, s.exit(), s.err());
        JsonNode features = new ObjectMapper().readTree(s.out()).get("features");
        assertTrue(features.size() > 0 && features.size() <= 5, s.out());
        for (int i = 0; i < features.size(); i++) {
            assertTrue(features.get(i).get("attribution").asDouble() > 0);
            if (i > 0) assertTrue(features.get(i - 1).get("attribution").asDouble() >= features.get(i).get("attribution").asDouble());
        }
        Cli.Result text = Cli.run("shield", "--model", model.toString(), "--prompt", "Tell me a joke.", "--policy-file", policy.toString(),
                "--sae", sae.toString());
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().startsWith("P(Yes) = ") && text.out().contains("features pushing toward Yes"), text.out());
    }

    @Test
    void badInputGivesOneLine() {
        Cli.Result both = Cli.run("shield", "--model", model.toString(), "--prompt", "x", "--policy", "p", "--policy-file", "f");
        assertEquals(2, both.exit());
        Cli.Result empty = Cli.run("shield", "--model", model.toString(), "--prompt", " ", "--policy", "p");
        assertEquals(2, empty.exit());
        assertTrue(empty.err().contains("--prompt"), empty.err());
        Cli.Result missing = Cli.run("shield", "--model", model.toString(), "--prompt", "x", "--policy-file", dir.resolve("nope").toString());
        assertEquals(2, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
    }
}
