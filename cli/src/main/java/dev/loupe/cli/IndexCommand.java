package dev.loupe.cli;

import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.Document;
import dev.loupe.analysis.IndexJob;
import dev.loupe.analysis.IndexOptions;
import dev.loupe.analysis.IndexProgress;
import dev.loupe.analysis.IndexResult;
import dev.loupe.analysis.CorpusIndexer;
import dev.loupe.analysis.flags.CorpusRunFlags;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeCompatibility;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code loupe index}: a corpus run (SAE feature activations of every token in Arrow files, and per-feature summaries). */
@Command(name = "index", mixinStandardHelpOptions = true,
        description = "Run a corpus through the model and one or more SAEs; write activation shards, tokens, per-feature"
                + " summaries and top examples as Arrow IPC files in RUN_DIR. Rerunning the same command after an interruption"
                + " resumes after the last complete shard; on a complete run it checks the files against run.json.")
final class IndexCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Mixin CorpusRunFlags run;

    @Option(names = "--out", required = true, paramLabel = "RUN_DIR", description = "run folder (created; an interrupted run there is resumed)")
    Path out;

    @Option(names = "--no-logit-tables", description = "skip the promoted/suppressed token tables (W_dec·W_U; an hour of CPU for a 1M-wide SAE)")
    boolean noLogitTables;

    @Option(names = "--quiet", description = "no progress bar")
    boolean quiet;

    @Override public Integer call() throws Exception {
        IndexOptions options = run.options(!noLogitTables);
        Path corpus = run.corpus();
        Corpus.files(corpus);   // a missing or unreadable corpus fails here, before the model loads
        PrintStream err = System.err;
        try (Model m = model.load()) {
            List<Sae> loaded = new ArrayList<>();
            try {
                List<IndexJob.RunSae> runSaes = new ArrayList<>();
                for (Path p : run.saes()) {
                    Sae s = Sae.load(p, run.hook(), m.backend());
                    loaded.add(s);
                    SaeCompatibility.require(s, m);
                    runSaes.add(new IndexJob.RunSae(s, p.toString()));
                }
                IndexJob job = new IndexJob(m, model.model.toString(), runSaes,
                        new IndexJob.CorpusId(corpus.toString(), Corpus.sha256(corpus)), out, options);
                long total = quiet ? -1 : countTokens(m, options);
                Bar bar = new Bar(err, quiet, total, !noLogitTables, stderrIsTerminal());
                Iterator<Document> docs = Corpus.read(corpus, run.skipBadLines(), bar);
                IndexResult r = CorpusIndexer.index(job, docs, bar);
                bar.done();
                long computed = r.tokens() - r.resumedTokens();
                double bytesPerToken = r.tokens() == 0 ? 0 : (double) r.shardBytes() / r.tokens() / runSaes.size();
                System.out.printf(Locale.ROOT, "indexed %,d documents, %,d tokens%s in %.1f s (%.1f tokens/s); %,d active rows (mean L0 %.1f), "
                                + "%.1f shard bytes/token/SAE (%s) -> %s%n",
                        r.documents(), r.tokens(), r.resumedTokens() > 0 ? String.format(Locale.ROOT, " (%,d resumed)", r.resumedTokens()) : "",
                        r.seconds(), computed / Math.max(1e-9, r.seconds()), r.activeRows(),
                        r.tokens() == 0 ? 0.0 : (double) r.activeRows() / r.tokens() / runSaes.size(), bytesPerToken,
                        options.compression().flag(), out);
            } finally {
                for (Sae s : loaded) s.close();
            }
        }
        return 0;
    }

    /** Corpus tokens (up to --max-tokens), for the progress bar's ETA: tokenizing is cheap next to the model. */
    private long countTokens(Model m, IndexOptions o) throws Exception {
        long n = 0;
        Iterator<Document> it = Corpus.read(run.corpus(), run.skipBadLines(), IndexProgress.NONE);
        while (it.hasNext()) {
            Document d = it.next();
            n += d.tokens() != null ? d.tokens().length + (d.tokens().length > 0 && d.tokens()[0] == m.config().bosId() ? 0 : 1)
                    : m.tokenizer().encode(d.text(), true).length;
            if (o.maxTokens() > 0 && n >= o.maxTokens()) return o.maxTokens();
        }
        return n;
    }

    /**
     * Whether stderr is a terminal: the JDK tells only for the console as a whole, so a redirected stderr beside a
     * terminal stdout still counts as one; LOUPE_PROGRESS=lines forces the plain-line form.
     */
    private static boolean stderrIsTerminal() {
        if ("lines".equals(System.getenv("LOUPE_PROGRESS"))) return false;
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /**
     * Progress on stderr: tokens done, tokens/s, ETA. On a terminal a bar redrawn in place at most five times a
     * second; otherwise (a log file, a pipe) a plain line every 10% or every 30 s, so logs stay readable.
     */
    private static final class Bar implements IndexProgress {
        private final PrintStream err;
        private final boolean quiet;
        private final long total;
        private final boolean logitTables;
        private final boolean terminal;
        private final long started = System.nanoTime();
        private long lastDraw, firstDone = -1, lastLineTenth = -1;
        private boolean drawn;

        Bar(PrintStream err, boolean quiet, long total, boolean logitTables, boolean terminal) {
            this.err = err;
            this.quiet = quiet;
            this.total = total;
            this.logitTables = logitTables;
            this.terminal = terminal;
        }

        @Override public void phase(String name) {
            if (quiet) return;
            if (drawn) err.println();
            drawn = false;
            if (name.equals("summarise")) {
                err.println("index: summarising features (statistics, examples" + (logitTables ? ", logit tables" : "") + ")...");
            }
            if (name.equals("check")) err.println("index: the run is complete; checking its files against run.json");
            if (name.equals("resume")) err.println("index: resuming an interrupted run");
        }

        @Override public void warning(String message) { err.println("index: " + message); }

        @Override public void tokens(long done, long ignored) {
            if (quiet) return;
            if (firstDone < 0) firstDone = done;
            long now = System.nanoTime();
            if (terminal) {
                if (now - lastDraw < 200_000_000L && done != total) return;
            } else {
                long tenth = total > 0 ? 10 * done / total : -1;
                if (tenth == lastLineTenth && now - lastDraw < 30_000_000_000L) return;
                if (done == firstDone && done != total) return;   // nothing done yet
                lastLineTenth = tenth;
            }
            lastDraw = now;
            double secs = (now - started) / 1e9;
            double rate = secs > 0 ? (done - firstDone) / secs : 0;
            StringBuilder sb = new StringBuilder(terminal ? "\r" : "index: ");
            if (total > 0 && terminal) {
                int width = 30;
                int filled = (int) Math.min(width, width * done / total);
                sb.append('[').append("#".repeat(filled)).append(" ".repeat(width - filled)).append("] ");
                sb.append(String.format(Locale.ROOT, "%,d/%,d tokens", done, total));
            } else if (total > 0) {
                sb.append(String.format(Locale.ROOT, "%,d/%,d tokens (%d%%)", done, total, 100 * done / total));
            } else {
                sb.append(String.format(Locale.ROOT, "%,d tokens", done));
            }
            sb.append(String.format(Locale.ROOT, "  %.1f tok/s", rate));
            if (total > 0 && rate > 0) {
                long eta = (long) ((total - done) / rate);
                sb.append(String.format(Locale.ROOT, "  ETA %d:%02d:%02d", eta / 3600, eta / 60 % 60, eta % 60));
            }
            if (!terminal) {
                err.println(sb);
                return;
            }
            sb.append("   ");
            err.print(sb);
            err.flush();
            drawn = true;
        }

        void done() {
            if (drawn && !quiet) err.println();
            drawn = false;
        }
    }
}
