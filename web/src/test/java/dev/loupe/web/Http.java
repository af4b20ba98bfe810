package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Test HTTP calls: java.net.http for ordinary requests, a raw socket for request lines no client would send. */
final class Http {
    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Reply(int status, String contentType, String body, String retryAfter) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }
    }

    private Http() {}

    static Reply get(String base, String path) { return send(HttpRequest.newBuilder(URI.create(base + path)).GET()); }

    static Reply post(String base, String path, String body) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    static Reply send(HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = CLIENT.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body(),
                    r.headers().firstValue("Retry-After").orElse(null));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sends {@code GET <rawPath> HTTP/1.1} exactly as written and returns the status and body. */
    static Reply raw(int port, String rawPath) {
        return rawRequest(port, "GET " + rawPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    }

    /**
     * Sends {@code request} byte for byte (ISO-8859-1), closes the sending side (a body that stops there ends
     * early) and returns the status and body of the answer.
     */
    static Reply rawRequest(int port, String request) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (all.length() < 12) throw new IOException("no HTTP answer to " + request.lines().findFirst().orElse("") + ": \"" + all + "\"");
            int status = Integer.parseInt(all.substring(9, 12));
            int cut = all.indexOf("\r\n\r\n");
            String head = all.substring(0, cut).toLowerCase(java.util.Locale.ROOT);
            String type = head.contains("content-type: application/json") ? "application/json" : head.contains("content-type:") ? "other" : "";
            String body = all.substring(cut + 4);
            if (head.contains("transfer-encoding: chunked")) body = dechunk(body);
            return new Reply(status, type, body, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String dechunk(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            int nl = s.indexOf("\r\n", i);
            if (nl < 0) break;
            int n = Integer.parseInt(s.substring(i, nl).trim(), 16);
            if (n == 0) break;
            out.append(s, nl + 2, nl + 2 + n);
            i = nl + 2 + n + 2;
        }
        return out.toString();
    }
}
