package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A small OpenAI chat client written from OpenAI's API reference, as the official SDKs behave: POST JSON to
 * {@code {base}/chat/completions} with a bearer key, read {@code choices[0].message.content}, or with
 * {@code stream: true} read {@code data:} lines until {@code data: [DONE]}, joining {@code delta.content}.
 */
final class OpenAiClient {
    private final String baseUrl;   // e.g. http://127.0.0.1:7860/v1

    OpenAiClient(String baseUrl) { this.baseUrl = baseUrl; }

    record Completion(String content, String finishReason, int promptTokens, int completionTokens, JsonNode raw) {}

    record Streamed(String content, String finishReason, List<JsonNode> chunks, JsonNode usage) {}

    static ObjectNode request(String model, String... roleContent) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        for (int i = 0; i < roleContent.length; i += 2) messages.addObject().put("role", roleContent[i]).put("content", roleContent[i + 1]);
        return body;
    }

    Completion create(ObjectNode body) throws IOException, InterruptedException {
        body.put("stream", false);
        HttpResponse<String> r = Http.CLIENT.send(post(body), HttpResponse.BodyHandlers.ofString());
        JsonNode json = Json.MAPPER.readTree(r.body());
        if (r.statusCode() != 200) throw new IOException("HTTP " + r.statusCode() + ": " + json.path("error").path("message").asText());
        JsonNode choice = json.get("choices").get(0);
        return new Completion(choice.get("message").get("content").asText(), choice.get("finish_reason").asText(),
                json.get("usage").get("prompt_tokens").asInt(), json.get("usage").get("completion_tokens").asInt(), json);
    }

    Streamed stream(ObjectNode body) throws IOException, InterruptedException {
        body.put("stream", true);
        HttpResponse<InputStream> r = Http.CLIENT.send(post(body), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            String err = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
            throw new IOException("HTTP " + r.statusCode() + ": " + err);
        }
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) throw new IOException("not an event stream");
        StringBuilder content = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        List<JsonNode> chunks = new ArrayList<>();
        boolean done = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) continue;
                if (!line.startsWith("data: ")) throw new IOException("unexpected stream line: " + line);
                String data = line.substring(6);
                if (data.equals("[DONE]")) {
                    done = true;
                    break;
                }
                JsonNode chunk = Json.MAPPER.readTree(data);
                if (chunk.has("error")) throw new IOException("stream error: " + chunk.get("error").get("message").asText());
                if (!"chat.completion.chunk".equals(chunk.path("object").asText())) throw new IOException("not a chunk: " + data);
                chunks.add(chunk);
                if (chunk.hasNonNull("usage")) usage = chunk.get("usage");
                for (JsonNode c : chunk.get("choices")) {
                    JsonNode delta = c.get("delta");
                    if (delta != null && delta.hasNonNull("content")) content.append(delta.get("content").asText());
                    if (c.hasNonNull("finish_reason")) finish = c.get("finish_reason").asText();
                }
            }
        }
        if (!done) throw new IOException("the stream ended without data: [DONE]");
        return new Streamed(content.toString(), finish, chunks, usage);
    }

    private HttpRequest post(ObjectNode body) {
        return HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer no-key")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(body))).build();
    }
}
