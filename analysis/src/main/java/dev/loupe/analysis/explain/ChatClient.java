package dev.loupe.analysis.explain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A client of an OpenAI-compatible {@code POST /chat/completions} (llama-server, vLLM, a hosted API, Loupe's own
 * {@code /v1}): one system and one user message in, the answer's text and token usage out. Retries a 429 or 5xx
 * answer a few times with growing waits.
 *
 * @param endpoint the API base, e.g. {@code http://127.0.0.1:8080/v1} ({@code /chat/completions} is appended)
 * @param model    the {@code model} field
 * @param apiKey   sent as {@code Authorization: Bearer ...}, or null
 */
public record ChatClient(URI endpoint, String model, String apiKey, Duration timeout) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** An answer and what it cost. */
    public record Reply(String text, int promptTokens, int completionTokens) {}

    public Reply ask(String system, String user, int maxTokens, double temperature) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("model", model).put("max_tokens", maxTokens).put("temperature", temperature);
        var messages = body.putArray("messages");
        if (system != null && !system.isBlank()) messages.addObject().put("role", "system").put("content", system);
        messages.addObject().put("role", "user").put("content", user);
        String url = endpoint.toString().replaceAll("/+$", "") + "/chat/completions";
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) req.header("Authorization", "Bearer " + apiKey);
        IOException last = null;
        for (int attempt = 0; attempt < 4; attempt++) {
            if (attempt > 0) Thread.sleep(500L << attempt);
            HttpResponse<String> r;
            try {
                r = HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                last = new IOException(url + ": " + e.getMessage(), e);
                continue;
            }
            if (r.statusCode() == 429 || r.statusCode() >= 500) {
                last = new IOException(url + ": HTTP " + r.statusCode() + " " + clip(r.body()));
                continue;
            }
            if (r.statusCode() != 200) throw new IOException(url + ": HTTP " + r.statusCode() + " " + clip(r.body()));
            JsonNode json;
            try {
                json = JSON.readTree(r.body());
            } catch (IOException e) {
                throw new IOException(url + ": the answer is not JSON: " + clip(r.body()));
            }
            JsonNode content = json.path("choices").path(0).path("message").path("content");
            if (!content.isTextual()) throw new IOException(url + ": the answer has no choices[0].message.content: " + clip(r.body()));
            JsonNode usage = json.path("usage");
            return new Reply(content.textValue(), usage.path("prompt_tokens").asInt(0), usage.path("completion_tokens").asInt(0));
        }
        throw last;
    }

    private static String clip(String s) { return s.length() > 300 ? s.substring(0, 300) + "..." : s; }
}
