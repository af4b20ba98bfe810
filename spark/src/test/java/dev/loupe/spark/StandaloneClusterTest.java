package dev.loupe.spark;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real standalone cluster on loopback: a Master and two Workers started from the jars as child processes, the
 * Workers on 127.0.0.2 and 127.0.0.3 (Spark starts a speculative copy only on another host). One part is made slow;
 * with speculation forced on, a copy of it starts, waits for the first attempt's lock, and the run is still the
 * one-machine run.
 */
class StandaloneClusterTest {
    @TempDir Path tmp;
    private final List<Process> daemons = new ArrayList<>();

    @AfterEach void stopCluster() throws InterruptedException {
        for (Process p : daemons.reversed()) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }

    private Process daemon(String name, String ip, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(SparkRuns.java()));
        cmd.addAll(SparkRuns.JVM_FLAGS);
        cmd.addAll(List.of("-Xmx256m", "-cp", SparkRuns.classPath()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile());
        pb.environment().putAll(SparkRuns.sparkEnv(ip));
        Process p = pb.start();
        daemons.add(p);
        return p;
    }

    private static void awaitPort(String host, int port, Process p, Path log) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            if (!p.isAlive()) throw new AssertionError(host + ":" + port + " died: " + Files.readString(log));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), 500);
                return;
            } catch (IOException e) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("nothing listens on " + host + ":" + port + ": " + Files.readString(log));
    }

    @Test void speculativeCopyOfASlowPartLeavesTheRunUnchanged() throws Exception {
        Path corpus = SparkRuns.corpus(tmp, 24, 3);
        int shardTokens = 64;
        Path one = tmp.resolve("one");
        SparkRuns.oneMachine(corpus, one, SparkRuns.options(shardTokens));

        int masterPort = SparkRuns.freePort();
        Process master = daemon("master", "127.0.0.1", List.of("org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", Integer.toString(masterPort), "--webui-port", Integer.toString(SparkRuns.freePort())));
        awaitPort("127.0.0.1", masterPort, master, tmp.resolve("master.log"));
        String url = "spark://127.0.0.1:" + masterPort;
        for (String ip : List.of("127.0.0.2", "127.0.0.3")) {
            Path work = tmp.resolve("work-" + ip);
            Files.createDirectories(work);
            int port = SparkRuns.freePort();
            Process w = daemon("worker-" + ip, ip, List.of("org.apache.spark.deploy.worker.Worker", "--host", ip, "--port", Integer.toString(port),
                    "--webui-port", Integer.toString(SparkRuns.freePort()), "--cores", "1", "--memory", "1g", "--work-dir", work.toString(), url));
            awaitPort(ip, port, w, tmp.resolve("worker-" + ip + ".log"));
        }

        Path out = tmp.resolve("spark");
        List<String> conf = List.of("-Dspark.speculation=true", "-Dspark.speculation.interval=200ms", "-Dspark.speculation.quantile=0.5",
                "-Dspark.speculation.multiplier=1.2", "-Dspark.speculation.minTaskRuntime=500ms", "-Dspark.speculation.efficiency.enabled=false",
                "-Dspark.executor.memory=768m", "-Dspark.loupe.delayPartition=1:15000");
        Process driver = SparkRuns.driver(tmp, tmp, conf, SparkRuns.args(url, 4, corpus, out, shardTokens));
        assertEquals(0, SparkRuns.await(driver, tmp, 400), "driver failed: " + SparkRuns.stderr(tmp));
        String summary = SparkRuns.stdout(tmp);
        assertTrue(summary.matches("(?s).*; [1-9]\\d* speculative attempt\\(s\\).*"), "no speculative copy started: " + summary);
        SparkRuns.assertSameRun(one, out);
    }
}
