package dev.loupe.spark;

import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.CorpusIndexer;
import dev.loupe.analysis.IndexJob;
import dev.loupe.analysis.IndexOptions;
import dev.loupe.analysis.IndexProgress;
import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Helpers of the Spark tests: the tiny-a fixture, drivers as child JVMs, a SPARK_HOME from the test class path, run comparison. */
final class SparkRuns {
    static final String HOOK = "blocks.2.hook_resid_post";
    static final int CONTEXT = 16;

    private SparkRuns() {}

    static Path gguf() { return Fixtures.tinyA().resolve("tiny-a-f32.gguf"); }

    static Path sae() { return Fixtures.tinyA().resolve("sae"); }

    /** Documents of random fixture words, {@code docs} lines (tiny-a's vocabulary is bytes and a few merges). */
    static Path corpus(Path dir, int docs, long seed) throws IOException {
        String[] words = ("the golden gate bridge opened in and spans strait at mouth of san francisco bay rain tapped against "
                + "glass all night while harbour lights blinked water boils at one hundred degrees she read error message").split(" ");
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < docs; d++) {
            int n = 5 + r.nextInt(40);
            for (int i = 0; i < n; i++) sb.append(i == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            sb.append('\n');
        }
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, sb.toString());
        return f;
    }

    static IndexOptions options(int shardTokens) {
        return IndexOptions.defaults().withContext(CONTEXT).withShardTokens(shardTokens).withLogitTables(false);
    }

    /** What {@code loupe index} writes for these options: the reference every Spark run must equal. */
    static void oneMachine(Path corpus, Path out, IndexOptions o) throws IOException {
        try (Model m = Model.load(gguf(), 2); Sae s = Sae.load(sae(), HOOK, m.backend())) {
            IndexJob job = new IndexJob(m, gguf().toString(), List.of(new IndexJob.RunSae(s, sae().toString())),
                    new IndexJob.CorpusId(corpus.toString(), Corpus.sha256(corpus)), out, o);
            CorpusIndexer.index(job, Corpus.read(corpus, false, IndexProgress.NONE), IndexProgress.NONE);
        }
    }

    /** The loupe-spark arguments for the same run. */
    static List<String> args(String master, int partitions, Path corpus, Path out, int shardTokens) {
        return new ArrayList<>(List.of("--master", master, "--partitions", Integer.toString(partitions),
                "--model", gguf().toString(), "--sae", sae().toString(), "--hook", HOOK, "--corpus", corpus.toString(),
                "--out", out.toString(), "--context", Integer.toString(CONTEXT), "--shard-tokens", Integer.toString(shardTokens),
                "--no-logit-tables", "--quiet"));
    }

    static String classPath() { return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")); }

    static String java() { return Path.of(System.getProperty("java.home"), "bin", "java").toString(); }

    static final List<String> JVM_FLAGS = List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");

    /** A SPARK_HOME whose jars/ links every jar of the test class path, as bin/loupe-spark makes from Maven's. */
    static synchronized Path sparkHome() throws IOException {
        Path home = Path.of("target", "spark-home").toAbsolutePath();
        Path jars = home.resolve("jars");
        if (!Files.isDirectory(jars)) {
            Path tmp = home.resolve("jars.tmp");
            Files.createDirectories(tmp);
            for (String e : classPath().split(java.io.File.pathSeparator)) {
                Path p = Path.of(e);
                if (e.endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(tmp.resolve(p.getFileName()))) {
                    Files.createSymbolicLink(tmp.resolve(p.getFileName()), p.toAbsolutePath());
                }
            }
            Files.move(tmp, jars);
        }
        return home;
    }

    static Map<String, String> sparkEnv(String localIp) throws IOException {
        return Map.of("SPARK_HOME", sparkHome().toString(), "SPARK_SCALA_VERSION", "2.13", "SPARK_LOCAL_IP", localIp);
    }

    /** Starts a driver ({@code dev.loupe.spark.Main}) as a child JVM; stdout and stderr go to files in {@code logs}. */
    static Process driver(Path cwd, Path logs, List<String> sysProps, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java()));
        cmd.addAll(JVM_FLAGS);
        cmd.add("-Xmx1g");
        cmd.addAll(sysProps);
        cmd.addAll(List.of("-cp", classPath(), Main.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
                .redirectOutput(logs.resolve("driver.out").toFile()).redirectError(logs.resolve("driver.err").toFile());
        pb.environment().putAll(sparkEnv("127.0.0.1"));
        return pb.start();
    }

    /** Waits for a driver and returns its exit code (failing the test with its output if it hangs). */
    static int await(Process p, Path logs, int seconds) throws Exception {
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("driver did not finish in " + seconds + " s; stderr: " + stderr(logs));
        }
        return p.exitValue();
    }

    static String stderr(Path logs) throws IOException { return Files.readString(logs.resolve("driver.err"), StandardCharsets.UTF_8); }

    static String stdout(Path logs) throws IOException { return Files.readString(logs.resolve("driver.out"), StandardCharsets.UTF_8); }

    /** The driver's stderr less the JVM's own notice about incubator modules. */
    static List<String> errorLines(Path logs) throws IOException {
        return stderr(logs).lines().filter(l -> !l.isBlank() && !l.startsWith("WARNING: Using incubator modules")).toList();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The spark run equals the one-machine run: tokens, documents, summaries byte for byte; the same activation rows. */
    static void assertSameRun(Path one, Path spark) throws IOException {
        for (String f : List.of("tokens.arrow", "documents.arrow", "features.arrow", "top_examples.arrow")) {
            assertArrayEquals(Files.readAllBytes(one.resolve(f)), Files.readAllBytes(spark.resolve(f)), f + " differs");
        }
        List<long[]> a = activations(one), b = activations(spark);
        assertEquals(a.size(), b.size(), "activation rows");
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "activation row " + i);
        assertTrue(Files.readString(spark.resolve("run.json")).contains("\"complete\" : true"));
        try (dev.loupe.analysis.FeatureStore store = dev.loupe.analysis.FeatureStore.open(spark)) {   // ids, sizes, checksums
            assertEquals(a.size(), store.info().tokens() > 0 ? a.size() : -1);
        }
        assertNoWorkFiles(spark);
    }

    /** No temporary, lock, part or partial files anywhere under the run. */
    static void assertNoWorkFiles(Path run) throws IOException {
        try (Stream<Path> s = Files.walk(run)) {
            List<String> work = s.filter(p -> !p.equals(run)).map(p -> run.relativize(p).toString())
                    .filter(n -> n.startsWith(".") || n.endsWith(".tmp") || n.endsWith(dev.loupe.model.io.AtomicFiles.SUFFIX) || n.contains("/.")).toList();
            assertEquals(List.of(), work, "work files left in the run");
        }
    }

    /** Every activation row of every shard as (doc, pos, feature, activation bits), sorted. */
    static List<long[]> activations(Path run) throws IOException {
        TreeSet<String> names = new TreeSet<>();
        try (Stream<Path> s = Files.list(run)) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("activations-") && n.endsWith(".arrow")).forEach(names::add);
        }
        List<long[]> rows = new ArrayList<>();
        try (RootAllocator alloc = new RootAllocator()) {
            for (String n : names) {
                try (FileChannel ch = FileChannel.open(run.resolve(n), StandardOpenOption.READ);
                     ArrowFileReader r = new ArrowFileReader(ch, alloc, org.apache.arrow.compression.CommonsCompressionFactory.INSTANCE)) {
                    VectorSchemaRoot root = r.getVectorSchemaRoot();
                    while (r.loadNextBatch()) {
                        IntVector d = (IntVector) root.getVector("doc_id"), p = (IntVector) root.getVector("pos"), f = (IntVector) root.getVector("feature_id");
                        Float4Vector v = (Float4Vector) root.getVector("activation");
                        for (int i = 0; i < root.getRowCount(); i++) {
                            rows.add(new long[]{d.get(i), p.get(i), f.get(i), Float.floatToRawIntBits(v.get(i))});
                        }
                    }
                }
            }
        }
        rows.sort((x, y) -> Arrays.compare(x, y));
        return rows;
    }

    /** A listing of a folder's files with their bytes, to show a folder was left as it was. */
    static Map<String, String> snapshot(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            java.util.TreeMap<String, String> m = new java.util.TreeMap<>();
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                m.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
