package dev.loupe.spark;

import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.Document;
import dev.loupe.analysis.IndexJob;
import dev.loupe.analysis.IndexOptions;
import dev.loupe.analysis.IndexProgress;
import dev.loupe.analysis.IndexResult;
import dev.loupe.analysis.RunLock;
import dev.loupe.analysis.RunParts;
import dev.loupe.errors.BadInputException;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskStart;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The driver: plans the parts, runs the two Spark jobs (index each part; sample each part under the merged first
 * pass) and finishes the run folder itself from the committed files. The model is loaded here too, for the run's
 * identity, the token counts of the plan and the logit tables (memory-mapped: nothing is copied).
 */
final class SparkIndex {
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)(,\\d+)?]");
    private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[(\\d+),\\s*(\\d+),\\s*(\\d+)]");

    private final Main args;
    private final PrintStream err = System.err;

    SparkIndex(Main args) { this.args = args; }

    int run() throws Exception {
        if (args.partitions < 1) throw new BadInputException("--partitions must be at least 1, got " + args.partitions);
        int threads = args.threads != null ? args.threads : defaultThreads(args.master);
        if (threads < 1) throw new BadInputException("--threads must be at least 1");
        IndexOptions options = args.run.options(!args.noLogitTables);
        requireReachable(args.master);
        Corpus.files(args.run.corpus());
        JobSpec spec = new JobSpec(args.model.toString(), args.backend, threads, args.run.saes().stream().map(Path::toString).toList(), args.run.hook(),
                args.run.corpus().toString(), Corpus.sha256(args.run.corpus()), args.out.toString(), options.context(), options.maxTokens(),
                options.compression().flag(), options.shardTokens(), options.skipBadLines(), options.logitTables(),
                System.getProperty("spark.loupe.delayPartition", ""));
        // The driver's copy of the model: the tasks load their own on the executors.
        ExecutorModel driverModel = ExecutorModel.load(spec);
        boolean fresh = isMissingOrEmpty(args.out);
        List<RunParts.Part> planned = new ArrayList<>();
        try (RunLock lock = RunLock.acquire(args.out)) {
          try {
            IndexJob job = driverModel.job(spec);
            long started = System.nanoTime();
            List<RunParts.Part> plan = RunParts.plan(tokensPerDocument(driverModel, spec), options.maxTokens(), args.partitions);
            planned.addAll(plan);
            if (plan.isEmpty()) throw new BadInputException("--corpus " + args.run.corpus() + ": no documents");
            if (RunParts.prepare(job, plan)) {
                System.out.println("run in " + args.out + " is already complete");
                return 0;
            }
            long total = plan.stream().mapToLong(RunParts.Part::tokens).sum();
            AtomicInteger speculative = new AtomicInteger();
            double startup;
            double indexSeconds;
            try (JavaSparkContext sc = new JavaSparkContext(conf(threads))) {
                startup = (System.nanoTime() - started) / 1e9;
                sc.sc().addSparkListener(new SparkListener() {
                    @Override public void onTaskStart(SparkListenerTaskStart e) {
                        if (e.taskInfo().speculative()) speculative.incrementAndGet();
                    }
                });
                Progress progress = new Progress(job.runDir(), plan, total, args.quiet);
                long indexStart = System.nanoTime();
                progress.start();
                try {
                    failIfAny(sc.parallelize(plan, plan.size()).mapPartitions(parts -> {
                        List<String> errors = new ArrayList<>();
                        while (parts.hasNext()) {
                            String e = PartTasks.index(spec, parts.next());
                            if (e != null) errors.add(e);
                        }
                        return errors.iterator();
                    }).collect());
                } finally {
                    progress.stop();
                }
                indexSeconds = (System.nanoTime() - indexStart) / 1e9;
                if (!args.quiet) err.println("loupe-spark: merging the parts' statistics, sampling quantile examples...");
                RunParts.mergeMoments(job, plan);
                failIfAny(sc.parallelize(plan, plan.size()).mapPartitions(parts -> {
                    List<String> errors = new ArrayList<>();
                    while (parts.hasNext()) {
                        String e = PartTasks.sample(spec, parts.next());
                        if (e != null) errors.add(e);
                    }
                    return errors.iterator();
                }).collect());
            }
            if (!args.quiet) err.println("loupe-spark: writing the run (features, examples" + (options.logitTables() ? ", logit tables" : "") + ")...");
            IndexResult r = RunParts.finish(job, plan, IndexProgress.NONE);
            double seconds = (System.nanoTime() - started) / 1e9;
            System.out.printf(Locale.ROOT, "indexed %,d documents, %,d tokens in %d parts on %s in %.1f s (Spark start-up %.1f s; "
                            + "indexing %.1f s, %.1f tokens/s); %,d active rows (mean L0 %.1f)%s -> %s%n",
                    r.documents(), r.tokens(), plan.size(), args.master, seconds, startup, indexSeconds, total / Math.max(1e-9, indexSeconds),
                    r.activeRows(), r.tokens() == 0 ? 0.0 : (double) r.activeRows() / r.tokens() / spec.saePaths().size(),
                    speculative.get() > 0 ? String.format(Locale.ROOT, "; %d speculative attempt(s)", speculative.get()) : "", args.out);
            return 0;
          } catch (Exception | Error e) {
            // A run that failed before any shard was committed leaves nothing behind in a folder it created.
            if (fresh && planned.stream().allMatch(p -> RunParts.tokensSoFar(args.out, p) == 0)) deleteTree(args.out);
            throw e;
          }
        } finally {
            for (var s : driverModel.saes) s.sae().close();
            driverModel.model.close();
        }
    }

    private static boolean isMissingOrEmpty(Path dir) throws IOException {
        if (!java.nio.file.Files.exists(dir)) return true;
        if (!java.nio.file.Files.isDirectory(dir)) return false;
        try (var s = java.nio.file.Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static void deleteTree(Path dir) {
        try (var s = java.nio.file.Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the error being reported matters more
        }
    }

    /** The tasks hand back only the inputs they could not read (never results: those are in the committed files). */
    private static void failIfAny(List<String> errors) {
        if (!errors.isEmpty()) throw new BadInputException(errors.getFirst());
    }

    /** The Spark settings the job sets itself; a setting given by the user (-Dspark.x, spark-submit --conf) wins. */
    private SparkConf conf(int threads) {
        SparkConf c = new SparkConf().setAppName("loupe index " + args.out).setMaster(args.master);
        // One task runs the model with --threads threads: reserve as many cores for it.
        c.setIfMissing("spark.task.cpus", Integer.toString(threads));
        // A killed task (losing speculative copy, cancelled job) that does not stop is ended with its executor,
        // so no zombie attempt keeps a part's lock.
        c.setIfMissing("spark.task.reaper.enabled", "true");
        c.setIfMissing("spark.task.reaper.killTimeout", "120s");
        // Speculation adds nothing here (a copy waits for the first attempt's lock) but is safe when the cluster
        // turns it on; off unless asked for.
        c.setIfMissing("spark.speculation", "false");
        c.setIfMissing("spark.ui.enabled", "false");
        // Executors need Loupe's classes and the JVM flags of the Vector API, foreign memory and Arrow.
        String flags = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED "
                + "--sun-misc-unsafe-memory-access=allow";
        c.setIfMissing("spark.executor.extraJavaOptions", flags);
        if (c.get("spark.jars", "").isBlank()) c.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        return c;
    }

    /** Tokens of each document (after {@code <bos>}), as the tasks will count them: the plan balances on these. */
    private static int[] tokensPerDocument(ExecutorModel m, JobSpec spec) throws IOException {
        int bos = m.model.config().bosId();
        int[] counts = new int[1024];
        int n = 0;
        long sum = 0;
        IndexProgress warnings = new IndexProgress() {
            @Override public void warning(String message) { System.err.println("loupe-spark: " + message); }
        };
        Iterator<Document> docs = Corpus.read(Path.of(spec.corpusPath()), spec.skipBadLines(), warnings);
        while (docs.hasNext()) {
            Document d = docs.next();
            int t = d.tokens() != null ? d.tokens().length + (d.tokens().length > 0 && d.tokens()[0] == bos ? 0 : 1)
                    : m.model.tokenizer().encode(d.text(), true).length;
            if (n == counts.length) counts = java.util.Arrays.copyOf(counts, n * 2);
            counts[n++] = t;
            sum += t;
            if (spec.maxTokens() > 0 && sum >= spec.maxTokens()) break;
        }
        return java.util.Arrays.copyOf(counts, n);
    }

    static int defaultThreads(String master) {
        Matcher m = LOCAL.matcher(master);
        if (m.matches()) return m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
        Matcher lc = LOCAL_CLUSTER.matcher(master);
        if (lc.matches()) return Integer.parseInt(lc.group(2));
        return 1;
    }

    /** A standalone master that does not answer fails here in seconds, not after Spark's minute of retries. */
    static void requireReachable(String master) {
        if (!master.startsWith("spark://")) {
            if (master.equals("local") || LOCAL.matcher(master).matches() || LOCAL_CLUSTER.matcher(master).matches()) return;
            if (master.startsWith("yarn") || master.startsWith("k8s://")) return;
            throw new BadInputException("--master: expected local[N], local-cluster[N,CORES,MB] or spark://HOST:PORT, got '" + master + "'");
        }
        List<String> failures = new ArrayList<>();
        for (String hostPort : master.substring("spark://".length()).split(",")) {
            URI u = URI.create("spark://" + hostPort);
            if (u.getHost() == null || u.getPort() < 0) throw new BadInputException("--master: expected spark://HOST:PORT, got '" + master + "'");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(u.getHost(), u.getPort()), 5000);
                return;
            } catch (IOException e) {
                failures.add(hostPort + " (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
            }
        }
        throw new BadInputException("--master " + master + ": no master answers at " + String.join(", ", failures));
    }

    /** The progress line: parts done, tokens in committed shards, tokens/s across the cluster. */
    private static final class Progress {
        private final Path runDir;
        private final List<RunParts.Part> plan;
        private final long total;
        private final boolean quiet;
        private Thread thread;
        private volatile boolean running;

        Progress(Path runDir, List<RunParts.Part> plan, long total, boolean quiet) {
            this.runDir = runDir;
            this.plan = plan;
            this.total = total;
            this.quiet = quiet;
        }

        void start() {
            if (quiet) return;
            running = true;
            long t0 = System.nanoTime();
            long resumed = tokens();
            thread = Thread.ofPlatform().daemon().name("loupe-progress").start(() -> {
                while (running) {
                    draw(t0, resumed);
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        private long tokens() {
            long t = 0;
            for (RunParts.Part p : plan) t += RunParts.tokensSoFar(runDir, p);
            return t;
        }

        private void draw(long t0, long resumed) {
            int done = 0;
            for (RunParts.Part p : plan) if (RunParts.indexed(runDir, p)) done++;
            long tokens = tokens();
            double secs = (System.nanoTime() - t0) / 1e9;
            System.err.printf(Locale.ROOT, "\rloupe-spark: tasks %d/%d done, %,d/%,d tokens, %.1f tokens/s   ",
                    done, plan.size(), tokens, total, secs > 0 ? (tokens - resumed) / secs : 0);
            System.err.flush();
        }

        void stop() throws InterruptedException {
            if (thread == null) return;
            running = false;
            thread.interrupt();
            thread.join();
            System.err.println();
        }
    }
}
