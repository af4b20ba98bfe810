package dev.loupe.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import io.javalin.http.Context;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * OpenAI's legacy {@code POST /v1/completions} as llama-server serves it: a plain-text continuation of
 * {@code prompt} (a string, or token ids; {@code <bos>} is put before a string as llama-server does), whole or
 * as {@code text_completion} server-sent events ending with {@code data: [DONE]}. Fields as the chat endpoint
 * takes them ({@code max_tokens}, default {@link Requests#DEFAULT_MAX_TOKENS}; {@code temperature}, {@code top_p},
 * {@code top_k}, {@code seed}, {@code stop}, {@code stream}, {@code stream_options}, {@code ignore_eos}), plus
 * {@code echo} (the prompt's text before the continuation). Anything else, {@code suffix} and
 * {@code logprobs} included, is refused with a 400 naming the field.
 */
final class TextCompletions {
    static final Set<String> FIELDS = Set.of("prompt", "model", "max_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stream",
            "stream_options", "n", "best_of", "echo", "ignore_eos", "user", "cache_prompt");

    private final LiveModel live;
    private final WorkQueue queue;
    private final Limits limits;

    TextCompletions(LiveModel live, WorkQueue queue, Limits limits) {
        this.live = live;
        this.queue = queue;
        this.limits = limits;
    }

    /** {@code logprobs} and a chunk's {@code finish_reason} are written as null, as OpenAI does. */
    record Choice(String text, int index, @JsonInclude(JsonInclude.Include.ALWAYS) Object logprobs,
                  @JsonInclude(JsonInclude.Include.ALWAYS) String finishReason) {}

    record Body(String id, String object, long created, String model, List<Choice> choices, ChatCompletions.Usage usage) {}

    void handle(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        Requests.refuseUnsupported(body, FIELDS, "/v1/completions");
        for (String one : List.of("n", "best_of")) {
            JsonNode v = body.get(one);
            if (v != null && !v.isNull() && !(v.isNumber() && v.doubleValue() == 1)) {
                throw ApiException.badRequest("'" + one + "' must be 1: this server makes one choice per request", one);
            }
        }
        int[] prompt = prompt(body.get("prompt"));
        Generation g = Requests.generation(body, "max_tokens", Requests.defaultMaxTokens(limits), limits.maxNewTokens(), ChatCompletions.DEFAULT_TEMPERATURE);
        List<String> stops = Requests.stops(body);
        boolean echo = Json.optBoolean(body, "echo", false);
        boolean stream = Json.optBoolean(body, "stream", false);
        JsonNode so = body.get("stream_options");
        boolean includeUsage = so != null && so.isObject() && Json.optBoolean(so, "include_usage", false);

        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        String echoed = echo ? live.tokenizer().decode(prompt, true) : "";
        ClientLink client = ClientLink.of(ctx);
        try (WorkQueue.Slot ignored = queue.acquire(deadline, client);
             Continuation c = new Continuation(live.generator(prompt, g, HookSet.empty(), null), live.tokenizer(), stops)) {
            SseStream sse = stream ? new SseStream(ctx) : null;
            if (sse != null && !echoed.isEmpty()) sse.data(body(id, created, echoed, null, null));
            try {
                while (!c.done()) {
                    ChatCompletions.checkDeadline(deadline);
                    if (sse == null) client.check();   // a stream sees a client leave when it writes
                    String piece = c.step();
                    if (sse != null && !piece.isEmpty()) sse.data(body(id, created, piece, null, null));
                }
            } catch (ApiException e) {
                if (sse == null) throw e;
                sse.data(Errors.body(e));
                sse.data("[DONE]");
                return;
            }
            ChatCompletions.Usage usage = new ChatCompletions.Usage(prompt.length, c.tokens(), prompt.length + c.tokens());
            if (sse == null) {
                ctx.json(body(id, created, echoed + c.text(), c.finishReason(), usage));
                return;
            }
            sse.data(body(id, created, "", c.finishReason(), null));
            if (includeUsage) sse.data(new Body(id, "text_completion", created, live.modelName(), List.of(), usage));
            sse.data("[DONE]");
        }
    }

    private Body body(String id, long created, String text, String finish, ChatCompletions.Usage usage) {
        return new Body(id, "text_completion", created, live.modelName(), List.of(new Choice(text, 0, null, finish)), usage);
    }

    /** A string, one string in an array, or token ids (a flat array, or one such array in an array). */
    private int[] prompt(JsonNode p) {
        if (p == null || p.isNull()) throw ApiException.badRequest("'prompt' is required (a string or an array of token ids)", "prompt");
        if (p.isTextual()) return live.encode(p.textValue(), "prompt");
        if (p.isArray() && p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray())) return prompt(p.get(0));
        if (p.isArray() && !p.isEmpty() && p.get(0).isNumber()) return live.tokenIds(p, "prompt");
        if (p.isArray() && p.size() > 1) throw ApiException.badRequest("'prompt' holds " + p.size() + " prompts; this server takes one per request", "prompt");
        throw ApiException.badRequest("'prompt' must be a non-empty string or an array of token ids, got " + Json.kind(p), "prompt");
    }
}
