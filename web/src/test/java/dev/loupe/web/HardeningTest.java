package dev.loupe.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.loupe.web.ApiTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a reliability probe found the server doing wrong, each reproduced on loopback with a bounded number of
 * connections and a bounded time: slow bodies, clients that leave, broken bodies, foreign Host headers, loose
 * parsing, leaked paths, and a run.json that points outside its folder.
 */
class HardeningTest {
    static LoupeServer server;
    static String base;

    @BeforeAll
    static void start() throws IOException {
        server = TinyRun.sharedLiveServer();
        base = server.url().replaceAll("/$", "");
    }

    private static String post(String path, String contentType, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body;
    }

    // ---- slow bodies ------------------------------------------------------------------------------------

    /**
     * The probe's attack, bounded in count and time: 300 connections from one client (127.0.0.1), more than Jetty's
     * 250 threads, each send the head of a 1,000-byte POST and then trickle its body, a byte every 300 ms, for at most
     * 12 s. Without a body deadline and a per-client bound every server thread waits on a body and no one else is
     * answered. Another client (127.0.0.2, also loopback on Linux) must be answered during the flood, and every slow
     * connection must be closed by the server: those past the per-client limit on arrival, the others when the body
     * timeout passes.
     */
    @Test
    void aSlowBodyFloodIsCutOffAndTheServerKeepsServing() throws Exception {
        Limits limits = TinyRun.testLimits().withBodyTimeout(Duration.ofSeconds(2)).withMaxConnectionsPerClient(8);
        try (LoupeServer s = TinyRun.liveServer(limits)) {
            int n = 300;
            byte[] head = ("POST /api/inspect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
            long t0 = System.nanoTime();
            Socket[] socks = new Socket[n];
            long[] closedAfter = new long[n];
            java.util.Arrays.fill(closedAfter, -1);
            Thread trickler = null;
            String duringFlood;
            long openedMs;
            try {
                for (int i = 0; i < n; i++) {
                    socks[i] = new Socket("127.0.0.1", s.port());
                    trickle(socks[i], head, closedAfter, i, t0);
                }
                openedMs = (System.nanoTime() - t0) / 1_000_000;
                // One thread drives every connection: the client side costs a socket each, not a thread each.
                trickler = Thread.ofPlatform().start(() -> {
                    while (System.nanoTime() - t0 < Duration.ofSeconds(12).toNanos()) {
                        boolean anyOpen = false;
                        for (int i = 0; i < n; i++) anyOpen |= trickle(socks[i], null, closedAfter, i, t0);
                        if (!anyOpen) return;
                        try {
                            Thread.sleep(300);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                Thread.sleep(1000);
                duringFlood = answerFromAnotherClient(s.port());
            } finally {
                if (trickler != null) trickler.join();
                for (Socket sock : socks) if (sock != null) sock.close();
            }
            assertEquals("200", duringFlood, "another client is answered within 5 s during the flood");
            List<Long> times = java.util.Arrays.stream(closedAfter).boxed().toList();
            assertTrue(times.stream().allMatch(t -> t >= 0), "every slow connection was closed by the server (ms after start): " + times);
            assertTrue(times.stream().allMatch(t -> t < openedMs + 6_000),
                    "within the 2 s body timeout and a margin of the last one's arrival (" + openedMs + " ms): " + times);
            // On a loaded machine the first ones may time out while the last ones still arrive and take their places.
            assertTrue(s.connectionsRefused() >= n / 2, "most connections past 8 were refused on arrival: " + s.connectionsRefused());
            assertTrue(s.bodyTimeouts() >= 8, "the first 8 ran out of time: " + s.bodyTimeouts());
            assertTrue(s.connectionsRefused() + s.bodyTimeouts() >= n,
                    "each was refused or timed out: " + s.connectionsRefused() + " + " + s.bodyTimeouts());
            long a = System.nanoTime();
            assertEquals(200, Http.get(s.url().replaceAll("/$", ""), "/api/info").status());
            assertTrue(System.nanoTime() - a < Duration.ofSeconds(2).toNanos(), "answered at once after the flood");
        }
    }

    /**
     * Writes {@code head} (when given) and one body byte; a connection the server closed fails within two writes,
     * and its time is noted. Returns whether the connection is still open.
     */
    private static boolean trickle(Socket sock, byte[] head, long[] closedAfter, int i, long t0) {
        if (closedAfter[i] >= 0) return false;
        try {
            OutputStream out = sock.getOutputStream();
            if (head != null) out.write(head);
            out.write(' ');
            out.flush();
            return true;
        } catch (IOException e) {
            closedAfter[i] = (System.nanoTime() - t0) / 1_000_000;
            return false;
        }
    }

    /** {@code GET /api/info} from 127.0.0.2: its status, or what went wrong within 5 s (the flood lasts 12 s). */
    private static String answerFromAnotherClient(int port) {
        try (Socket sock = new Socket(java.net.InetAddress.getByName("127.0.0.1"), port, java.net.InetAddress.getByName("127.0.0.2"), 0)) {
            sock.setSoTimeout(5_000);
            sock.getOutputStream().write("GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            sock.getOutputStream().flush();
            byte[] status = sock.getInputStream().readNBytes(12);
            return status.length == 12 ? new String(status, 9, 3, StandardCharsets.ISO_8859_1) : "no answer";
        } catch (IOException e) {
            return "no answer within 5 s (" + e + ")";
        }
    }

    // ---- clients that leave ---------------------------------------------------------------------------

    /** Sends a request and hangs up after {@code millis} without reading the answer. */
    private static void abandon(int port, String path, String body, long millis) throws Exception {
        try (Socket sock = new Socket("127.0.0.1", port)) {
            OutputStream out = sock.getOutputStream();
            out.write(post(path, "application/json", body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(millis);
        }
    }

    @Test
    void aClientThatLeavesANonStreamingChatStopsItsGenerationAndFreesItsPlace() throws Exception {
        try (LoupeServer s = TinyRun.liveServer(TinyRun.testLimits().withConcurrency(1).withQueueCapacity(1))) {
            String b = s.url().replaceAll("/$", "");
            String longChat = "{\"messages\": [{\"role\": \"user\", \"content\": \"go on\"}], \"max_tokens\": 4096, \"ignore_eos\": true, \"temperature\": 1, \"seed\": 3}";
            abandon(s.port(), "/v1/chat/completions", longChat, 300);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (s.clientsGone() < 1 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(1, s.clientsGone(), "the server saw the client leave and stopped generating");
            long t = System.nanoTime();
            assertEquals(200, Http.post(b, "/api/inspect", "{\"text\": \"next one\"}").status());
            assertTrue(System.nanoTime() - t < Duration.ofSeconds(5).toNanos(), "the next request was not kept waiting");

            // Five abandoned at once: one running, one waiting, three refused; none may hold a place afterwards.
            ExecutorService pool = Executors.newFixedThreadPool(5);
            List<Future<?>> left = new ArrayList<>();
            for (int i = 0; i < 5; i++) left.add(pool.submit(() -> { abandon(s.port(), "/v1/chat/completions", longChat, 200); return null; }));
            for (Future<?> f : left) f.get(30, TimeUnit.SECONDS);
            pool.shutdown();
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (s.clientsGone() < 3 && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(s.clientsGone() >= 3, "the running and the waiting abandoned requests stopped: " + s.clientsGone());
            Http.Reply r = Http.post(b, "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2}");
            assertEquals(200, r.status(), "no 429 after abandoned requests: " + r.body());
        }
    }

    // ---- bodies -----------------------------------------------------------------------------------------

    @Test
    void aBrokenOrShortChunkedBodyIsTheClientsFault() {
        String head = "POST /api/inspect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        assertError(Http.rawRequest(server.port(), head + "5\r\n{\"tex\r\n40\r\nt\": \"x\"}"), 400, "body");   // ends inside a chunk
        Http.Reply r = Http.rawRequest(server.port(), head + "zz\r\n{}\r\n0\r\n\r\n");                          // not a chunk size
        assertTrue(r.status() == 400 && r.contentType().equals("application/json") && !r.body().contains("Exception"), r.status() + " " + r.body());
    }

    @Test
    void malformedJsonGetsOneLineWithoutParserInternals() {
        for (String bad : List.of("{\"text\": \"x\"", "{\"text\": \"x\"} trailing", "{\"text\": \"x\"}{\"text\": \"y\"}", "{'text': 1}", "{\"a\": 1, \"a\": 2}")) {
            Http.Reply r = Http.post(base, "/api/inspect", bad);
            assertError(r, 400, "not valid JSON");
            String m = r.json().get("error").get("message").asText();
            for (String leak : List.of("StreamReadFeature", "Source:", "com.fasterxml", "JsonNode", "`", "\n")) {
                assertFalse(m.contains(leak), "'" + leak + "' in: " + m);
            }
        }
        String second = Http.post(base, "/api/inspect", "{\"text\": \"x\"} {\"text\": \"y\"}").json().get("error").get("message").asText();
        assertTrue(second.contains("after the JSON object"), second);
    }

    @Test
    void postsMustSayJson() {
        assertError(Http.rawRequest(server.port(), post("/api/inspect", "text/plain", "{\"text\": \"x\"}")), 415, "application/json");
        assertError(Http.rawRequest(server.port(), post("/api/inspect", "application/x-www-form-urlencoded", "{\"text\": \"x\"}")), 415, "application/json");
        assertError(Http.rawRequest(server.port(), post("/v1/chat/completions", null, "{}")), 415, "Content-Type");
        assertEquals(200, Http.rawRequest(server.port(), post("/api/inspect", "application/json; charset=utf-8", "{\"text\": \"x\"}")).status());
    }

    /** A foreign Host (a page that rebound its DNS name to 127.0.0.1) is refused; the server's own names are not. */
    @Test
    void theHostMustNameTheServer() {
        String get = "GET /api/info HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n";
        assertError(Http.rawRequest(server.port(), get.formatted("attacker.example:" + server.port())), 403, "Host");
        assertError(Http.rawRequest(server.port(), get.formatted("attacker.example")), 403, "Host");
        assertEquals(200, Http.rawRequest(server.port(), get.formatted("127.0.0.1:" + server.port())).status());
        assertEquals(200, Http.rawRequest(server.port(), get.formatted("localhost:" + server.port())).status());
        assertEquals(200, Http.rawRequest(server.port(), get.formatted("LOCALHOST")).status());
        assertEquals(null, RequestGuard.allowedHosts("0.0.0.0"), "bound to every address, any name is taken");
    }

    // ---- fields -----------------------------------------------------------------------------------------

    @Test
    void fieldsThisServerDoesNotCarryOutAreRefusedAndLimitsAreStatedPlainly() {
        String chat = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], %s}";
        assertError(Http.post(base, "/v1/chat/completions", chat.formatted("\"tools\": [{\"type\": \"function\"}]")), 400, "'tools'");
        assertError(Http.post(base, "/v1/chat/completions", chat.formatted("\"response_format\": {\"type\": \"json_object\"}")), 400, "'response_format'");
        assertError(Http.post(base, "/v1/chat/completions", chat.formatted("\"frequency_penalty\": 0.5")), 400, "'frequency_penalty'");
        assertError(Http.post(base, "/v1/chat/completions", chat.formatted("\"min_p\": 0.1")), 400, "'min_p'");
        assertEquals(200, Http.post(base, "/v1/chat/completions", chat.formatted("\"user\": \"u1\", \"model\": \"x\", \"max_tokens\": 1")).status());
        Http.Reply huge = Http.post(base, "/v1/chat/completions", chat.formatted("\"max_tokens\": 1e30"));
        assertError(huge, 400, "1e30");
        assertFalse(huge.body().contains("E30"), huge.body());
        assertError(Http.post(base, "/v1/chat/completions", chat.formatted("\"stop\": \"" + "x".repeat(65) + "\"")), 400, "'stop'");
        assertError(Http.get(base, "/api/features/%D9%A3"), 400, "integer");   // an Arabic-Indic three is not feature 3
        assertError(Http.get(base, "/api/features?limit=%D9%A3"), 400, "'limit'");
    }

    @Test
    void infoNamesNoAbsolutePath() throws IOException {
        String info = Http.get(base, "/api/info").body();
        JsonNode json = Json.MAPPER.readTree(info);
        assertEquals("tiny-a-f32.gguf", json.get("run").get("model_name").asText());
        for (String p : List.of(TinyRun.model().toAbsolutePath().getParent().toString(), TinyRun.run().toAbsolutePath().toString(), "\"/")) {
            assertFalse(info.contains(p), "/api/info shows " + p + ": " + info);
        }
    }

    @Test
    void aRunJsonWhoseSaeDirClimbsOutOfTheRunIsRefused() throws IOException {
        Path copy = TinyRun.browsingOnlyCopy();
        Path runJson = copy.resolve("run.json");
        String original = Files.readString(runJson);
        try {
            for (String dir : List.of("../../../elsewhere", "/etc", "sub/../../x")) {
                ObjectNode json = (ObjectNode) Json.MAPPER.readTree(original);
                ((ObjectNode) json.withArray("saes").get(0)).put("dir", dir);
                Files.writeString(runJson, Json.MAPPER.writeValueAsString(json));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> LoupeServer.start(ServerOptions.of(copy).withAddress("127.0.0.1", 0).withThreads(1)).close());
                assertTrue(e.getMessage().contains("outside the run folder") && e.getMessage().contains("run.json"), e.getMessage());
            }
        } finally {
            Files.writeString(runJson, original);
        }
    }

    /** A damaged run (bytes flipped in one file) is refused when the server opens it, in one line naming the file. */
    @Test
    void aDamagedRunIsRefusedAtStartNamingTheFile() throws IOException {
        Path copy = TinyRun.browsingOnlyCopy();
        Path examples = copy.resolve("top_examples.arrow");
        byte[] original = Files.readAllBytes(examples);
        try {
            byte[] bad = original.clone();
            for (int i = bad.length / 2; i < bad.length / 2 + 16; i++) bad[i] ^= (byte) 0x5A;
            Files.write(examples, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LoupeServer.start(ServerOptions.of(copy).withAddress("127.0.0.1", 0).withThreads(1)).close());
            assertTrue(e.getMessage().contains("top_examples.arrow") && !e.getMessage().contains("\n"), e.getMessage());
        } finally {
            Files.write(examples, original);
        }
    }

    // ---- the process --------------------------------------------------------------------------------------

    @Test
    void aPortInUseIsOneLineAndNothingElse() throws IOException {
        try (ServerSocket held = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            PrintStream saved = System.err;
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            IllegalArgumentException e;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                e = assertThrows(IllegalArgumentException.class, () -> LoupeServer.start(
                        ServerOptions.of(TinyRun.browsingOnlyCopy()).withAddress("127.0.0.1", held.getLocalPort()).withThreads(1)).close());
            } finally {
                System.setErr(saved);
            }
            assertTrue(e.getMessage().contains("already in use") && e.getMessage().contains("--port " + held.getLocalPort()), e.getMessage());
            assertEquals("", err.toString(StandardCharsets.UTF_8), "nothing else on stderr");
        }
    }

    @Test
    void eachRequestLogsOneLineUnlessTurnedOff() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Path copy = TinyRun.browsingOnlyCopy();
        try (LoupeServer s = LoupeServer.start(ServerOptions.of(copy).withAddress("127.0.0.1", 0).withThreads(1), log)) {
            String b = s.url().replaceAll("/$", "");
            Http.get(b, "/api/features/3");
            Http.get(b, "/api/features/99999");
            Http.raw(s.port(), "/%2e%2e/%2e%2e/etc/passwd");   // answered by Jetty itself, before any route
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.matches("loupe serve: GET /api/features/3 200 \\d+ ms")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.matches("loupe serve: GET /api/features/99999 404 \\d+ ms")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.matches("loupe serve: \\(a malformed request\\) 400 \\d+ ms")), lines.toString());
        assertEquals(3, lines.size(), "one line per request: " + lines);
        bytes.reset();
        try (LoupeServer s = LoupeServer.start(ServerOptions.of(copy).withAddress("127.0.0.1", 0).withThreads(1).withRequestLog(false), log)) {
            Http.get(s.url().replaceAll("/$", ""), "/api/features/3");
        }
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
}
