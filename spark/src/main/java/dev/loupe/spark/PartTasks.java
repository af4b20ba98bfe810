package dev.loupe.spark;

import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.IndexProgress;
import dev.loupe.analysis.RunLock;
import dev.loupe.analysis.RunParts;
import org.apache.spark.TaskContext;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What a task does with its part, on an executor. Each step claims the part's folder with a {@link RunLock} first:
 * a second live attempt of the same part (a speculative copy, or a retry while a lost executor's attempt still
 * runs) waits for the lock, then finds the part done and returns, or resumes its complete shards if the holder
 * died. The kernel drops the lock of a killed executor, so a retry never waits for a dead one.
 */
final class PartTasks {
    private PartTasks() {}

    /**
     * Indexes one part and writes its first-pass statistics. Returns null, or the one line saying which input this
     * executor cannot read: an error no retry can mend, handed back to fail the job at once instead of four times.
     */
    static String index(JobSpec spec, RunParts.Part part) throws IOException {
        return run(spec, part, (model, lock) -> {
            delayForTests(spec, part);
            var docs = Corpus.read(Path.of(spec.corpusPath()), spec.skipBadLines(), IndexProgress.NONE);
            RunParts.indexPart(model.job(spec), part, lock, docs, new IndexProgress() {
                @Override public void tokens(long done, long total) { checkKilled(); }
            });
        });
    }

    /** Takes one part's quantile samples under the run's merged first pass; returns as {@link #index} does. */
    static String sample(JobSpec spec, RunParts.Part part) throws IOException {
        return run(spec, part, (model, lock) -> RunParts.samplePart(model.job(spec), part, lock));
    }

    private interface Step {
        void run(ExecutorModel model, RunLock lock) throws IOException;
    }

    private static String run(JobSpec spec, RunParts.Part part, Step step) throws IOException {
        Path runDir = Path.of(spec.runDir());
        if (RunParts.complete(runDir)) return null;   // a straggler of a finished run: nothing to do, nothing to create
        ExecutorModel model;
        try {
            if (!Files.isDirectory(runDir)) throw new NoSuchFileException(runDir.toString());
            ExecutorModel.requireCorpus(spec);
            model = ExecutorModel.of(spec);
        } catch (IOException | RuntimeException e) {
            return "executor on " + host() + ": " + OneLine.of(e) + " (every node needs the model, SAEs, corpus and --out at the same path)";
        }
        Path folder = RunParts.folder(runDir, part.index());
        try (RunLock lock = waitFor(folder)) {
            if (RunParts.complete(runDir)) return null;
            // One forward pass at a time per executor: the tasks of this JVM share one model and its backend.
            synchronized (model) {
                step.run(model, lock);
            }
        }
        return null;
    }

    private static RunLock waitFor(Path folder) throws IOException {
        while (true) {
            var l = RunLock.tryAcquire(folder);
            if (l.isPresent()) return l.get();
            sleep(200);
        }
    }

    /** Spark kills a task (a losing speculative copy, a cancelled job) by interrupting it: stop at the next window. */
    private static void checkKilled() {
        TaskContext tc = TaskContext.get();
        if (tc != null) tc.killTaskIfInterrupted();
        if (Thread.currentThread().isInterrupted()) throw new IllegalStateException("task interrupted");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        checkKilled();
    }

    /**
     * Fault injection for the tests (conf {@code spark.loupe.delayPartition=N:MS}): the first attempt of part N, holding
     * its lock, waits until every other part is indexed and then MS milliseconds more, so that it is the outlier
     * whatever the machine's load, a speculative copy starts, and the copy has to wait for the lock.
     */
    private static void delayForTests(JobSpec spec, RunParts.Part part) throws IOException {
        if (spec.delayPartition() == null || spec.delayPartition().isBlank()) return;
        String[] nm = spec.delayPartition().split(":");
        TaskContext tc = TaskContext.get();
        if (Integer.parseInt(nm[0]) != part.index() || tc == null || tc.attemptNumber() != 0) return;
        Path runDir = Path.of(spec.runDir());
        int parts = RunParts.plannedParts(runDir);
        while (true) {
            int others = 0;
            for (int i = 0; i < parts; i++) if (i != part.index() && RunParts.indexed(runDir, new RunParts.Part(i, 0, 0, 0))) others++;
            if (others == parts - 1) break;
            sleep(200);
        }
        long until = System.currentTimeMillis() + Long.parseLong(nm[1]);
        while (System.currentTimeMillis() < until) sleep(100);
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown host";
        }
    }
}
