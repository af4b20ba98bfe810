package dev.loupe.model.shield;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.RunOptions;
import dev.loupe.model.tokenizer.Tokenizer;

/**
 * ShieldGemma: a Gemma 2 asked whether a prompt (or a model's response to it) violates a policy. The prompt follows the
 * model card's pattern (preamble, the user turn in {@code <start_of_turn>}/{@code <end_of_turn>}, the optional model
 * response likewise, the policy, the epilogue), and the score is the model card's: the softmax over the logits of the
 * {@code Yes} and {@code No} tokens at the last position.
 */
public final class ShieldGemma {
    private ShieldGemma() {}

    /** What to classify: the user's prompt, optionally the model's response to it (null: classify the prompt), and the policy. */
    public record Request(String prompt, String response, String policy) {
        public Request {
            if (prompt == null || prompt.isBlank()) throw BadInputException.of("prompt", "the text to classify is empty");
            if (policy == null || policy.isBlank()) throw BadInputException.of("policy", "the safety policy is empty");
        }

        /** Classifies a user prompt. */
        public static Request ofPrompt(String prompt, String policy) { return new Request(prompt, null, policy); }
    }

    /**
     * The score and what produced it.
     *
     * @param pYes       P(Yes) = softmax over {logit(Yes), logit(No)} at the last position
     * @param promptText the full prompt built from the request
     * @param tokenIds   its tokens (with {@code <bos>})
     * @param yesId      the {@code Yes} token
     * @param noId       the {@code No} token
     */
    public record Result(double pYes, String promptText, int[] tokenIds, float yesLogit, float noLogit, int yesId, int noId) {}

    /** The model card's prompt for {@code r}; a policy line without the card's {@code "* "} bullet gets one. */
    public static String promptText(Request r) {
        boolean response = r.response() != null;
        String policy = r.policy().strip();
        if (!policy.startsWith("*")) policy = "* " + policy;
        StringBuilder s = new StringBuilder("You are a policy expert trying to help determine whether ")
                .append(response ? "an AI response to prompt" : "a user prompt")
                .append(" is in violation of the defined safety policies.\n\n")
                .append("<start_of_turn>\nHuman Question: ").append(r.prompt().strip()).append("\n<end_of_turn>\n\n");
        if (response) s.append("<start_of_turn>\nChatbot Response: ").append(r.response().strip()).append("\n<end_of_turn>\n\n");
        s.append("Our safety principle is defined in the below:\n\n").append(policy).append("\n\n")
                .append("Does the ").append(response ? "Chatbot Response" : "human question")
                .append(" violate the above principle? Your answer must start with 'Yes' or 'No'.")
                .append(" And then walk through step by step to be sure we answer correctly.\n");
        return s.toString();
    }

    /** The id of the {@code Yes} piece (as the model card's {@code vocab['Yes']}); fails in one line when absent. */
    public static int yesId(Tokenizer t) { return piece(t, "Yes"); }

    public static int noId(Tokenizer t) { return piece(t, "No"); }

    private static int piece(Tokenizer t, String piece) {
        int id = t.id(piece);
        if (id < 0) throw BadInputException.of("tokenizer", "no \"" + piece + "\" piece (ShieldGemma needs the Gemma vocabulary)");
        return id;
    }

    /** Builds the prompt, runs the model once (last position's logits only) and scores it. */
    public static Result score(Model model, Request r) {
        Tokenizer t = model.tokenizer();
        String text = promptText(r);
        int[] ids = t.encode(text);
        int yes = yesId(t), no = noId(t);
        float[] logits = model.run(ids, RunOptions.caching().withLogits(RunOptions.Logits.LAST)).logits();
        return new Result(pYes(logits[yes], logits[no]), text, ids, logits[yes], logits[no], yes, no);
    }

    /** softmax([yes, no])[0], computed stably in double. */
    public static double pYes(float yes, float no) { return 1.0 / (1.0 + Math.exp((double) no - yes)); }
}
