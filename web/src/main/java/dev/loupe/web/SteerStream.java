package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.hooks.HookSet;
import dev.loupe.model.Generation;
import dev.loupe.model.tokenizer.ChatTemplate;
import dev.loupe.sae.Intervention;
import io.javalin.http.Context;

import java.util.List;
import java.util.function.IntFunction;

/**
 * {@code POST /api/steer}: the steering playground's request. The default and the steered continuation of one
 * prompt are generated in lock step on one work slot and streamed as server-sent events, with the steered
 * features' activations (at the SAE's hook, after the steering) at every generated token of both. Both runs use
 * the same seed. The request takes {@code steer} (see {@link Requests#interventions}), {@code strength_multiplier},
 * {@code normalize_steering}, {@code steer_special_tokens}, sampling fields, and {@code top_logprobs} (0–20).
 * <pre>
 * event: start       {"prompt_tokens", "features": [...], "hook", "seed",
 *                     "steer": [{"feature", "mode", "strength", "target"}]}    target: the activation a clamp/ablate sets
 * event: token       {"run": "default"|"steered", "index", "id", "token", "text", "logprob", "top_logprobs"}
 *                                                                               text: what became printable
 * event: activation  {"run", "index", "values": [one per feature]}                  one event later than its token
 * event: done        {"run", "finish_reason", "text", "tokens"}
 * event: error       {"error": {"message", "type"}}
 * </pre>
 */
final class SteerStream {
    static final double DEFAULT_TEMPERATURE = 0.5;
    static final int DEFAULT_MAX_TOKENS = 32;

    private final LiveModel live;
    private final WorkQueue queue;
    private final Limits limits;
    private final IntFunction<Float> maxActivation;

    SteerStream(LiveModel live, WorkQueue queue, Limits limits, IntFunction<Float> maxActivation) {
        this.live = live;
        this.queue = queue;
        this.limits = limits;
        this.maxActivation = maxActivation;
    }

    /** One intervention as the page shows it; {@code target} is the activation a clamp or ablation sets, else null. */
    record SteerView(int feature, String mode, double strength, Float target) {}

    record Start(int promptTokens, int[] features, String hook, long seed, List<SteerView> steer) {}

    record TokenEvent(String run, int index, int id, String token, String text, Double logprob, List<Logprobs.Alternative> topLogprobs) {}

    record ActivationEvent(String run, int index, float[] values) {}

    record Done(String run, String finishReason, String text, int tokens) {}

    void handle(Context ctx, long deadline) {
        ObjectNode body = Json.object(ctx.body());
        String prompt = Json.requireString(body, "prompt");
        boolean chat = Json.optBoolean(body, "chat", false);
        Requests.Steer steer = Requests.steer(body, "steer", "", live.dSae(), maxActivation);
        int top = Json.optInt(body, "top_logprobs", 0, 0, Logprobs.MAX_TOP);
        if (steer.isEmpty()) throw ApiException.badRequest("'steer' must list at least one feature to steer", "steer");
        Generation g = Requests.generation(body, "max_tokens", DEFAULT_MAX_TOKENS, limits.maxNewTokens(), DEFAULT_TEMPERATURE);
        if (chat) g = g.withDefaultStops(live.chatStops());
        int[] ids = chat ? live.encodeChat(List.of(ChatTemplate.Turn.user(prompt)), "prompt") : live.encode(prompt, "prompt");
        int[] features = steer.interventions().stream().mapToInt(Intervention::feature).distinct().toArray();
        HookSet steering = live.steeringHooks(steer, ids);
        List<SteerView> views = steer.interventions().stream().map(i -> new SteerView(i.feature(), Requests.mode(i), i.strength(),
                i instanceof Intervention.Edit e ? e.target(steer.strengthMultiplier()) : null)).toList();

        try (WorkQueue.Slot ignored = queue.acquire(deadline, ClientLink.of(ctx))) {
            SseStream sse = new SseStream(ctx);
            sse.event("start", new Start(ids.length, features, live.hook(), g.seed(), views));
            try (Run plain = new Run("default", live, ids, g, HookSet.empty(), features, top);
                 Run steered = new Run("steered", live, ids, g, steering, features, top)) {
                while (!plain.finished() || !steered.finished()) {
                    ChatCompletions.checkDeadline(deadline);
                    plain.advance(sse);
                    steered.advance(sse);
                }
            } catch (ApiException e) {
                sse.event("error", Errors.body(e));
            }
        }
    }

    /** One of the two continuations and what of it has been sent. */
    private static final class Run implements AutoCloseable {
        private final String name;
        private final Continuation continuation;
        private final FeatureProbe probe;
        private final dev.loupe.model.tokenizer.Tokenizer tokenizer;
        private final int promptLength;
        private final int layer;
        private final int top;
        private int activationsSent;
        private boolean finished;

        Run(String name, LiveModel live, int[] prompt, Generation g, HookSet hooks, int[] features, int top) {
            this.name = name;
            this.top = top;
            this.probe = live.probe(features);
            this.continuation = new Continuation(live.generator(prompt, g, hooks, probe), live.tokenizer(), List.of());
            this.tokenizer = live.tokenizer();
            this.promptLength = prompt.length;
            this.layer = Math.clamp(live.hookLayer(), 0, live.model().config().numLayers() - 1);
        }

        boolean finished() { return finished; }

        @Override
        public void close() { continuation.close(); }

        void advance(SseStream sse) {
            if (finished) return;
            if (!continuation.done()) {
                int index = continuation.tokens();
                String text = continuation.step();
                int id = continuation.lastToken();
                Logprobs.TokenLogprob lp = top > 0 ? continuation.logprob(top) : null;
                sse.event("token", new TokenEvent(name, index, id, tokenizer.tokenText(id), text,
                        lp == null ? null : lp.logprob(), lp == null ? null : lp.topLogprobs()));
            }
            if (continuation.done()) continuation.generator().processLast(layer);
            sendActivations(sse);
            if (continuation.done()) {
                finished = true;
                sse.event("done", new Done(name, continuation.finishReason(), continuation.text(), continuation.tokens()));
            }
        }

        /** Generated token i sits at position promptLength + i; its activation is known once that position ran. */
        private void sendActivations(SseStream sse) {
            int n = probe.features().length;
            while (activationsSent < continuation.tokens()) {
                int pos = promptLength + activationsSent;
                if (Float.isNaN(probe.value(0, pos))) return;
                float[] values = new float[n];
                for (int i = 0; i < n; i++) values[i] = probe.value(i, pos);
                sse.event("activation", new ActivationEvent(name, activationsSent, values));
                activationsSent++;
            }
        }
    }
}
