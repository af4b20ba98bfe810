package dev.loupe.spark;

import dev.loupe.analysis.flags.CorpusRunFlags;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code loupe-spark}: {@code loupe index} on Apache Spark. The options after {@code --master} and
 * {@code --partitions} are {@code loupe index}'s, with the same meaning and defaults, and the run folder it writes
 * is the one {@code loupe index} would write.
 */
@Command(name = "loupe-spark", mixinStandardHelpOptions = true,
        description = {"Index a corpus on Apache Spark: each task indexes a range of documents into resumable shards, the",
                "summaries are merged from the committed shards, and RUN_DIR ends as a one-machine 'loupe index' run would."})
public final class Main implements Callable<Integer> {
    @Option(names = "--master", required = true, paramLabel = "MASTER",
            description = "Spark master: local[N], local-cluster[N,CORES,MB] or spark://HOST:PORT")
    String master;

    @Option(names = "--partitions", required = true, paramLabel = "N", description = "parts of the corpus (contiguous document ranges of about equal tokens), one task each")
    int partitions;

    // ---- loupe index's options ----

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "Hugging Face folder (config.json + safetensors) or a .gguf file, at this path on every node")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads per task; the job sets spark.task.cpus to it (default: the cores of local[N], else 1)")
    Integer threads;

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME", description = "where to compute: cpu (Vector API) or tornado (default: ${DEFAULT-VALUE})")
    String backend;

    @Mixin CorpusRunFlags run;

    @Option(names = "--out", required = true, paramLabel = "RUN_DIR", description = "run folder on storage every node shares (an interrupted run there is resumed)")
    Path out;

    @Option(names = "--no-logit-tables", description = "skip the promoted/suppressed token tables (W_dec·W_U)")
    boolean noLogitTables;

    @Option(names = "--quiet", description = "no progress line")
    boolean quiet;

    @Override public Integer call() throws Exception {
        return new SparkIndex(this).run();
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            System.err.println("loupe-spark: " + OneLine.of(e, cmd.getCommandSpec()));
            return OneLine.isBadInput(e) ? 2 : 1;
        });
        cl.setParameterExceptionHandler((e, args2) -> {
            System.err.println("loupe-spark: " + e.getMessage() + " (loupe-spark --help lists the options)");
            return 2;
        });
        int code = cl.execute(args);
        System.out.flush();
        System.err.flush();
        // Spark's non-daemon threads (and a dying cluster's retries) must not keep a finished or failed driver alive.
        Runtime.getRuntime().halt(code);
    }
}
