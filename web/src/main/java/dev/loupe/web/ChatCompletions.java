package dev.loupe.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.tokenizer.ChatTemplate;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.IntFunction;

/**
 * OpenAI's {@code POST /v1/chat/completions} as llama-server serves it: the conversation goes through Gemma's
 * chat template, the answer comes whole or as {@code chat.completion.chunk} server-sent events ending with
 * {@code data: [DONE]}. Fields: {@code messages}, {@code max_tokens} (or {@code max_completion_tokens}),
 * {@code temperature}, {@code top_p}, {@code top_k}, {@code seed}, {@code stop}, {@code stream},
 * {@code stream_options.include_usage}, {@code ignore_eos}, {@code logprobs} and {@code top_logprobs} (0–20, see
 * {@link Logprobs}); {@code model} is accepted and ignored, as llama-server does, and so are {@code user},
 * {@code store}, {@code metadata}, {@code service_tier} and {@code cache_prompt}. Any other field ({@code tools},
 * {@code response_format}, penalties, ...) is refused with a 400 naming it, rather than silently not carried out.
 * Without {@code max_tokens} an answer has at most {@link Requests#DEFAULT_MAX_TOKENS} tokens. The extension
 * {@code "loupe": {"steer": [...], "strength_multiplier", "normalize_steering", "steer_special_tokens"}} steers
 * SAE features with any of the steering page's modes ({@link Requests#steer}).
 *
 * <p>Gemma has no system role. A leading {@code system} (or {@code developer}) message is put before the first
 * user message's text, separated by a blank line, which is what Gemma's own newer templates do.
 */
final class ChatCompletions {
    /** OpenAI's default temperature is 1, llama-server's 0.8: follow llama-server, whose clients these are. */
    static final double DEFAULT_TEMPERATURE = 0.8;
    /** The fields read, and those knowingly ignored (metadata that changes nothing in the answer). */
    static final Set<String> FIELDS = Set.of("messages", "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
            "seed", "stop", "stream", "stream_options", "n", "ignore_eos", "loupe", "logprobs", "top_logprobs",
            "user", "store", "metadata", "service_tier", "cache_prompt");

    private final LiveModel live;
    private final WorkQueue queue;
    private final Limits limits;
    private final IntFunction<Float> maxActivation;

    ChatCompletions(LiveModel live, WorkQueue queue, Limits limits, IntFunction<Float> maxActivation) {
        this.live = live;
        this.queue = queue;
        this.limits = limits;
        this.maxActivation = maxActivation;
    }

    record Model(String id, String object, long created, String ownedBy) {}

    record ModelList(String object, List<Model> data) {}

    ModelList models(long startedAt) {
        return new ModelList("list", List.of(new Model(live.modelName(), "model", startedAt, "loupe")));
    }

    record Message(String role, String content) {}

    /** {@code logprobs} and a chunk's {@code finish_reason} are written as null, as OpenAI and llama-server do. */
    record Choice(int index, Message message, String finishReason, @JsonInclude(JsonInclude.Include.ALWAYS) Object logprobs) {}

    record Usage(int promptTokens, int completionTokens, int totalTokens) {}

    record Completion(String id, String object, long created, String model, List<Choice> choices, Usage usage) {}

    record Delta(String role, String content) {}

    record ChunkChoice(int index, Delta delta, @JsonInclude(JsonInclude.Include.ALWAYS) Object logprobs,
                       @JsonInclude(JsonInclude.Include.ALWAYS) String finishReason) {}

    record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices, Usage usage) {}

    void handle(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        Requests.refuseUnsupported(body, FIELDS, "/v1/chat/completions");
        List<ChatTemplate.Turn> turns = turns(body);
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isNumber() && n.doubleValue() == 1)) {
            throw ApiException.badRequest("'n' must be 1: this server makes one choice per request", "n");
        }
        String maxField = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Generation g = Requests.generation(body, maxField, Requests.defaultMaxTokens(limits), limits.maxNewTokens(), DEFAULT_TEMPERATURE)
                .withDefaultStops(live.chatStops());
        List<String> stops = Requests.stops(body);
        JsonNode ext = body.get("loupe");
        Requests.Steer steer = Requests.Steer.none();
        if (ext != null && !ext.isNull()) {
            if (!ext.isObject()) throw ApiException.badRequest("'loupe' must be an object such as {\"steer\": [...]}, got " + Json.kind(ext), "loupe");
            steer = Requests.steer(ext, "steer", "loupe.", live.dSae(), maxActivation);
        }
        boolean logprobs = Json.optBoolean(body, "logprobs", false);
        int top = Json.optInt(body, "top_logprobs", 0, 0, Logprobs.MAX_TOP);
        if (top > 0 && !logprobs) {
            throw ApiException.badRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        }
        boolean stream = Json.optBoolean(body, "stream", false);
        JsonNode so = body.get("stream_options");
        boolean includeUsage = so != null && so.isObject() && Json.optBoolean(so, "include_usage", false);
        int[] prompt = live.encodeChat(turns, "messages");
        HookSet hooks = live.steeringHooks(steer, prompt);

        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        String model = live.modelName();
        ClientLink client = ClientLink.of(ctx);
        try (WorkQueue.Slot ignored = queue.acquire(deadline, client);
             Continuation c = new Continuation(live.generator(prompt, g, hooks, null), live.tokenizer(), stops)) {
            List<Logprobs.TokenLogprob> pending = new ArrayList<>();
            if (!stream) {
                while (!c.done()) {
                    checkDeadline(deadline);
                    client.check();   // nothing is written until the end: a client that left is only seen by looking
                    c.step();
                    if (logprobs) pending.add(c.logprob(top));
                }
                ctx.json(new Completion(id, "chat.completion", created, model,
                        List.of(new Choice(0, new Message("assistant", c.text()), c.finishReason(), logprobs ? Logprobs.Content.of(pending) : null)),
                        new Usage(prompt.length, c.tokens(), prompt.length + c.tokens())));
                return;
            }
            SseStream sse = new SseStream(ctx);
            sse.data(new Chunk(id, "chat.completion.chunk", created, model, List.of(new ChunkChoice(0, new Delta("assistant", ""), null, null)), null));
            try {
                while (!c.done()) {
                    checkDeadline(deadline);
                    String piece = c.step();
                    if (logprobs) pending.add(c.logprob(top));
                    // a token's logprobs go with the chunk that shows its text (held-back text waits, and so do they)
                    if (!piece.isEmpty()) {
                        sse.data(new Chunk(id, "chat.completion.chunk", created, model,
                                List.of(new ChunkChoice(0, new Delta(null, piece), logprobs ? Logprobs.Content.of(pending) : null, null)), null));
                        pending.clear();
                    }
                }
            } catch (ApiException e) {
                sse.data(Errors.body(e));
                sse.data("[DONE]");
                return;
            }
            sse.data(new Chunk(id, "chat.completion.chunk", created, model,
                    List.of(new ChunkChoice(0, new Delta(null, null), logprobs && !pending.isEmpty() ? Logprobs.Content.of(pending) : null, c.finishReason())), null));
            if (includeUsage) {
                sse.data(new Chunk(id, "chat.completion.chunk", created, model, List.of(), new Usage(prompt.length, c.tokens(), prompt.length + c.tokens())));
            }
            sse.data("[DONE]");
        }
    }

    static void checkDeadline(long deadline) {
        if (System.nanoTime() > deadline) throw ApiException.timeout("the request ran past the server's time limit and was stopped");
    }

    /** The messages as chat turns; a leading system or developer message becomes Gemma's merged system text. */
    private static List<ChatTemplate.Turn> turns(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) throw ApiException.badRequest("'messages' is required (an array of {role, content})", "messages");
        if (!messages.isArray() || messages.isEmpty()) throw ApiException.badRequest("'messages' must be a non-empty array of {role, content}", "messages");
        List<ChatTemplate.Turn> turns = new ArrayList<>();
        StringBuilder system = new StringBuilder();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.badRequest("'" + at + "' must be an object {role, content}, got " + Json.kind(m), at);
            String role = Json.optString(m, "role", at + ".role", null);
            if (role == null) throw ApiException.badRequest("'" + at + ".role' is required (system, user or assistant)", at + ".role");
            String content = content(m.get("content"), at + ".content");
            switch (role) {
                case "system", "developer" -> {
                    if (!turns.isEmpty()) throw ApiException.badRequest("'" + at + "': a system message may only come before the first user message (Gemma has no system role; it is merged into the first user message)", at + ".role");
                    if (!system.isEmpty()) system.append("\n\n");
                    system.append(content.strip());
                }
                case "user" -> turns.add(ChatTemplate.Turn.user(content));
                case "assistant", "model" -> turns.add(ChatTemplate.Turn.model(content));
                default -> throw ApiException.badRequest("'" + at + ".role' must be system, user or assistant, got \"" + role + "\"", at + ".role");
            }
        }
        if (turns.isEmpty() || turns.getLast().role() != ChatTemplate.Role.USER) {
            throw ApiException.badRequest("the last message must be from the user (the model answers it)", "messages");
        }
        if (!system.isEmpty()) turns.addFirst(ChatTemplate.Turn.system(system.toString()));
        return turns;
    }

    /** A message's text: a string, or OpenAI's array of {type: "text", text} parts. */
    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) throw ApiException.badRequest("'" + at + "' is required (a string)", at);
        if (c.isTextual()) return c.textValue();
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < c.size(); i++) {
                JsonNode part = c.get(i);
                String type = part.isObject() ? Json.optString(part, "type", at + "[" + i + "].type", null) : null;
                if (!"text".equals(type)) throw ApiException.badRequest("'" + at + "[" + i + "]' must be a {\"type\": \"text\", \"text\": ...} part: this model reads text only", at);
                sb.append(Json.requireString(part, "text"));
            }
            return sb.toString();
        }
        throw ApiException.badRequest("'" + at + "' must be a string or an array of text parts, got " + Json.kind(c), at);
    }
}
