package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.analysis.ActivationCache;
import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.Document;
import dev.loupe.analysis.flags.Flags;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.RunOptions;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.metrics.SaeEvaluator;
import dev.loupe.sae.train.ActivationSource;
import dev.loupe.sae.train.ModelActivations;
import dev.loupe.sae.train.SaeExport;
import dev.loupe.sae.train.SaeTrainer;
import dev.loupe.sae.train.Sparsity;
import dev.loupe.sae.train.TrainOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code loupe train-sae}: trains an SAE on a model's activations at one hook point, streamed over a corpus through
 * a shuffled buffer, and writes it in SAELens's layout (or Gemma Scope's). A killed run resumes from its last
 * checkpoint when started again with the same arguments.
 */
@Command(name = "train-sae", mixinStandardHelpOptions = true,
        description = {"Train a sparse autoencoder on a model's activations (SAELens's objectives): "
                + "jumprelu (--l0: L0 penalty steered to the target, Gemma Scope's straight-through estimators), "
                + "topk and batchtopk (--k, AuxK loss for dead features), standard (--l1: ReLU with an L1 penalty).",
                "Writes cfg.json + sae_weights.safetensors + sparsity.safetensors (or params.npz with --format gemma-scope), "
                        + "metrics.jsonl, and prints the eval-sae report. Run again with the same arguments to resume a killed run."})
final class TrainSaeCommand implements Callable<Integer>, Flags.Named {
    /** The library names the learning rate {@code learningRate}; the flag is short. */
    @Override public java.util.Map<String, String> flagNames() { return java.util.Map.of("learningRate", "--lr"); }

    static final String STATE = "train-sae.json", CHECKPOINT = "checkpoint.safetensors", METRICS = "metrics.jsonl";

    @Mixin ModelOptions model;

    @Option(names = "--hook", required = true, paramLabel = "NAME", description = "hook point, e.g. blocks.12.hook_resid_post")
    String hook;

    @Option(names = "--corpus", required = true, paramLabel = "FILE", description = "corpus: .txt (one document per line), .jsonl (\"text\" or \"tokens\"), or a folder of them")
    Path corpus;

    @Option(names = "--arch", required = true, paramLabel = "ARCH", description = "jumprelu, topk, batchtopk or standard")
    String arch;

    @Option(names = "--width", required = true, paramLabel = "W", description = "number of features, e.g. 16384")
    int width;

    @Option(names = "--l0", paramLabel = "TARGET", description = "jumprelu: target mean active features per token")
    Double l0;

    @Option(names = "--k", paramLabel = "K", description = "topk / batchtopk: active features per token")
    Integer k;

    @Option(names = "--l1", paramLabel = "COEF", description = "standard: L1 coefficient (default: ${DEFAULT-VALUE})", defaultValue = "5")
    float l1;

    @Option(names = "--tokens", required = true, paramLabel = "N", description = "activations (tokens) to train on")
    long tokens;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder: new, empty, or an unfinished train-sae run")
    Path out;

    @Option(names = "--format", defaultValue = "saelens", paramLabel = "FMT", description = "saelens or gemma-scope (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--context", defaultValue = "128", paramLabel = "N", description = "tokens per window, <bos> included (default: ${DEFAULT-VALUE})")
    int context;

    @Option(names = "--batch-size", paramLabel = "N", description = "tokens per step (default: 4096, fewer for short runs)")
    Integer batchSize;

    @Option(names = "--lr", paramLabel = "LR", description = "Adam learning rate (default: 3e-4)")
    Float lr;

    @Option(names = "--bandwidth", defaultValue = "0.05", paramLabel = "EPS", description = "jumprelu: kernel bandwidth of the pseudo-derivative (default: ${DEFAULT-VALUE})")
    float bandwidth;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "initialisation and shuffling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--checkpoint-tokens", paramLabel = "N", description = "write a checkpoint every N tokens (default: every tenth of the run)")
    Long checkpointTokens;

    @Option(names = "--cache-activations", paramLabel = "FILE",
            description = "Arrow file of the hook's activations: recorded by this run if missing, trained on instead of the model if present")
    Path cacheActivations;

    @Option(names = "--eval-tokens", defaultValue = "2048", paramLabel = "N", description = "tokens for the final eval-sae report, 0 to skip (default: ${DEFAULT-VALUE})")
    int evalTokens;

    @Override public Integer call() throws Exception {
        long start = System.nanoTime();
        if (width < 1) throw new BadInputException("--width must be at least 1, got " + width);
        if (tokens < 1) throw new BadInputException("--tokens must be at least 1, got " + tokens);
        if (context < 2) throw new BadInputException("--context must be at least 2, got " + context);
        if (evalTokens < 0) throw new BadInputException("--eval-tokens must not be negative, got " + evalTokens);
        Sparsity sparsity = sparsity();
        SaeExport.Format fmt = switch (format) {
            case "saelens" -> new SaeExport.Format.SaeLens();
            case "gemma-scope" -> new SaeExport.Format.GemmaScope();
            default -> throw new BadInputException("--format " + format + ": expected saelens or gemma-scope");
        };
        if (fmt instanceof SaeExport.Format.GemmaScope && sparsity instanceof Sparsity.TopK) {
            throw new BadInputException("--format gemma-scope holds JumpReLU SAEs; --arch topk has no such form (use batchtopk or saelens)");
        }
        TrainOptions options = TrainOptions.defaults(sparsity, width, tokens);
        if (batchSize != null) {
            if (batchSize < 1) throw new BadInputException("--batch-size must be at least 1, got " + batchSize);
            options = options.withBatchSize(batchSize);
        }
        if (lr != null) {
            if (!(lr > 0)) throw new BadInputException("--lr must be positive, got " + lr);
            options = options.withLearningRate(lr);
        }
        options = options.withSeed(seed);
        boolean resuming = prepareOut();
        List<Document> docs = new ArrayList<>();
        Corpus.files(corpus);  // fails with one line when the path holds no corpus files
        Corpus.read(corpus, false, dev.loupe.analysis.IndexProgress.NONE).forEachRemaining(docs::add);
        if (docs.isEmpty()) throw new BadInputException("--corpus " + corpus + ": no documents");
        PrintStream err = System.err;
        try (Model m = model.load()) {
            try {
                m.hookPoints().id(hook);
            } catch (RuntimeException e) {
                throw new BadInputException("--hook " + hook + ": " + Errors.oneLine(e));
            }
            Tokenizer tok = m.tokenizer();
            Set<Integer> special = new HashSet<>(List.of(tok.bosId(), 0));
            if (tok.eosId() >= 0) special.add(tok.eosId());
            boolean replay = cacheActivations != null && Files.exists(cacheActivations);
            List<int[]> windows = windows(tok, docs, replay ? evalTokens : options.tokens());
            ActivationSource source;
            ActivationCache.Recorder recorder = null;
            AutoCloseable replaying = null;
            if (replay) {
                ActivationCache.Replay cache = ActivationCache.open(InputPaths.requireFile(cacheActivations, "--cache-activations"));
                replaying = cache;
                String cachedHook = cache.metadata() == null ? null : cache.metadata().get("hook");
                if (!hook.equals(cachedHook)) {
                    throw new BadInputException("--cache-activations " + cacheActivations + " holds activations of " + cachedHook + ", not --hook " + hook);
                }
                if (cache.rows() < options.tokens()) {
                    throw new BadInputException("--cache-activations " + cacheActivations + " holds " + cache.rows() + " tokens, fewer than --tokens " + options.tokens());
                }
                source = cache;
            } else {
                long usable = ModelActivations.usableTokens(windows, special);
                if (usable < options.tokens()) {
                    throw new BadInputException("--corpus " + corpus + " holds " + usable + " tokens (without <bos>) at --context " + context
                            + ", fewer than --tokens " + options.tokens());
                }
                source = new ModelActivations(m, hook, windows, special);
                if (cacheActivations != null && resuming) {
                    err.println("note: a resumed run does not record --cache-activations (it would lack the rows before the checkpoint)");
                } else if (cacheActivations != null) {
                    OutputPaths.requireFile(cacheActivations, "--cache-activations");
                    recorder = ActivationCache.record(source, cacheActivations, Map.of("hook", hook, "model", model.model.toString(),
                            "d_in", Integer.toString(source.width()), "context", Integer.toString(context), "corpus", corpus.toString()));
                    source = recorder;
                }
            }
            writeState(options, false);
            Path checkpoint = out.resolve(CHECKPOINT);
            if (resuming) trimMetrics(SaeTrainer.checkpointStep(checkpoint));
            long every = checkpointTokens != null ? Math.max(1, checkpointTokens) : Math.max(options.batchSize(), options.tokens() / 10);
            SaeTrainer trainer = new SaeTrainer(options, source, m.backend(), new SaeTrainer.Checkpointing(checkpoint, every));
            SaeTrainer.Result result;
            try (BufferedWriter metrics = Files.newBufferedWriter(out.resolve(METRICS), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                Progress progress = new Progress(err, metrics, System.nanoTime());
                result = trainer.run(progress::onStep);
                progress.finish(result);
                if (recorder != null) {
                    recorder.finish();
                    err.printf(Locale.ROOT, "cached %d activations in %s%n", recorder.rows(), cacheActivations);
                }
            } finally {
                if (recorder != null) recorder.close();
                if (replaying != null) replaying.close();
            }
            if (result.tokens() < options.tokens()) {
                err.printf(Locale.ROOT, "note: the corpus ran out after %d of %d tokens (a resumed run skips its lost buffer)%n", result.tokens(), options.tokens());
            }
            SaeExport.write(out, result, new SaeExport.Provenance(hook, model.model.toString(), context, corpus.toString()), fmt);
            writeState(options, true);
            Files.deleteIfExists(checkpoint);
            if (sparsity instanceof Sparsity.JumpRelu j && Math.abs(result.lastStats().l0() - j.targetL0()) > 0.5 * j.targetL0()) {
                err.printf(Locale.ROOT, "note: the last batch's L0 is %.1f, far from --l0 %s: train longer or change --l0%n", result.lastStats().l0(), l0);
            }
            System.out.printf(Locale.ROOT, "wrote %s: %s SAE, %d features at %s, %d tokens in %d steps (%.1f s)%s%n", out, sparsity.name(), width,
                    hook, result.tokens(), result.steps(), (System.nanoTime() - start) / 1e9, result.resumed() ? ", resumed from a checkpoint" : "");
            if (evalTokens > 0) evaluate(m, tok, windows, special);
        }
        return 0;
    }

    private Sparsity sparsity() {
        return switch (arch) {
            case "jumprelu" -> {
                if (l0 == null) throw new BadInputException("--arch jumprelu needs --l0 TARGET (mean active features per token)");
                if (!(l0 > 0) || l0 >= width) {
                    throw new BadInputException("--l0 " + l0 + " cannot be reached by " + width + " features (expected 0 < --l0 < --width)");
                }
                if (!(bandwidth > 0)) throw new BadInputException("--bandwidth must be positive, got " + bandwidth);
                yield new Sparsity.JumpRelu(l0, bandwidth);
            }
            case "topk", "batchtopk" -> {
                if (k == null) throw new BadInputException("--arch " + arch + " needs --k K (active features per token)");
                if (k < 1 || k > width) throw new BadInputException("--k " + k + " cannot be met by " + width + " features (expected 1 ≤ --k ≤ --width)");
                yield arch.equals("topk") ? new Sparsity.TopK(k) : new Sparsity.BatchTopK(k);
            }
            case "standard" -> {
                if (!(l1 >= 0) || Float.isInfinite(l1)) throw new BadInputException("--l1 must be a finite number ≥ 0, got " + l1);
                yield new Sparsity.Standard(l1);
            }
            default -> throw new BadInputException("--arch " + arch + ": expected jumprelu, topk, batchtopk or standard");
        };
    }

    /** Windows of at most {@code context} tokens, each starting with {@code <bos>}, until enough tokens are in hand. */
    private List<int[]> windows(Tokenizer tok, List<Document> docs, long needed) {
        List<int[]> out = new ArrayList<>();
        long have = 0;
        for (Document d : docs) {
            int[] ids = d.tokens() != null ? withBos(tok, d.tokens()) : tok.encode(d.text());  // <bos> first
            int body = context - 1;
            for (int from = 1; from < ids.length; from += body) {
                int n = Math.min(body, ids.length - from);
                int[] w = new int[n + 1];
                w[0] = tok.bosId();
                System.arraycopy(ids, from, w, 1, n);
                out.add(w);
                have += n;
            }
            // A little more than asked: a resumed run loses the rows its buffer held.
            if (have >= needed + needed / 4 + 4096) break;
        }
        return out;
    }

    private static int[] withBos(Tokenizer tok, int[] ids) {
        if (ids.length > 0 && ids[0] == tok.bosId()) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = tok.bosId();
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Creates {@code --out} or accepts it if empty or an unfinished run of this command; returns whether to resume. */
    private boolean prepareOut() throws IOException {
        OutputPaths.requireFolder(out, "--out");
        if (!Files.exists(out)) {
            Files.createDirectories(out);
            return false;
        }
        Path state = out.resolve(STATE);
        if (Files.isRegularFile(state)) {
            JsonNode s = new ObjectMapper().readTree(Files.readString(state));
            if (s.path("finished").asBoolean(false)) {
                throw new BadInputException("--out " + out + " already holds a finished train-sae run; choose another folder");
            }
            return Files.isRegularFile(out.resolve(CHECKPOINT));
        }
        try (Stream<Path> files = Files.list(out)) {
            List<Path> other = files.limit(3).toList();
            if (!other.isEmpty()) {
                throw new BadInputException("--out " + out + " holds other files (" + other.getFirst().getFileName()
                        + (other.size() > 1 ? ", ..." : "") + "); expected a new or empty folder, or an unfinished train-sae run");
            }
        }
        return false;
    }

    private void writeState(TrainOptions options, boolean finished) throws IOException {
        ObjectNode s = new ObjectMapper().createObjectNode();
        s.put("command", "train-sae");
        s.put("options", options.toString());
        s.put("hook", hook);
        s.put("finished", finished);
        AtomicFiles.writeString(out.resolve(STATE), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(s));
    }

    /** After a kill, metrics.jsonl may hold steps past the checkpoint: keep only those up to it. */
    private void trimMetrics(long step) throws IOException {
        Path file = out.resolve(METRICS);
        if (!Files.isRegularFile(file)) return;
        ObjectMapper json = new ObjectMapper();
        StringBuilder kept = new StringBuilder();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            try {
                if (json.readTree(line).path("step").asLong(Long.MAX_VALUE) <= step) kept.append(line).append('\n');
            } catch (IOException torn) {
                // the last line of a killed run may be cut short
            }
        }
        AtomicFiles.writeString(file, kept.toString());
    }

    private void evaluate(Model m, Tokenizer tok, List<int[]> windows, Set<Integer> special) throws IOException {
        List<int[]> seqs = new ArrayList<>();
        int total = 0;
        for (int[] w : windows) {
            if (total >= evalTokens) break;
            seqs.add(w);
            total += w.length;
        }
        try (Sae sae = Sae.load(out, hook, m.backend())) {
            SaeEvaluator.Model runner = (t, hooks) -> m.run(t, RunOptions.defaults().withHooks(hooks)).logits();
            SaeEvaluator.Report r = SaeEvaluator.evaluate(runner, m.config().vocabSize(), sae, seqs, special);
            System.out.printf(Locale.ROOT, "eval-sae on %d windows, %d tokens of the corpus:%n", seqs.size(), r.tokens());
            for (Map.Entry<String, Number> e : r.asMap().entrySet()) {
                Number v = e.getValue();
                System.out.printf(Locale.ROOT, "  %-26s %s%n", e.getKey(), v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : v.toString());
            }
            long dead = 0, dense = 0;
            int w = sae.dSae();
            float[] freq = firingFrequency();
            if (freq != null) {
                for (float f : freq) {
                    if (f == 0) dead++;
                    if (f > 0.1) dense++;
                }
                System.out.printf(Locale.ROOT, "  %-26s %d of %d (never fired in the second half of training)%n", "dead_features", dead, w);
                System.out.printf(Locale.ROOT, "  %-26s %d (fired on more than 10%% of tokens)%n", "dense_features", dense);
            }
        }
    }

    /** The firing frequency written to sparsity.safetensors (null in the Gemma Scope layout). */
    private float[] firingFrequency() throws IOException {
        Path file = out.resolve("sparsity.safetensors");
        if (!Files.isRegularFile(file)) return null;
        try (var st = dev.loupe.model.weights.SafetensorsFile.open(file)) {
            float[] log = st.tensor("sparsity").toFloatArray();
            float[] f = new float[log.length];
            for (int i = 0; i < log.length; i++) f[i] = log[i] <= -9.99f ? 0 : (float) Math.pow(10, log[i]);
            return f;
        }
    }

    /** Live progress on stderr (every two seconds) and one metrics.jsonl line per step. */
    private record Progress(PrintStream err, BufferedWriter metrics, long start, long[] lastPrint) {
        Progress(PrintStream err, BufferedWriter metrics, long start) { this(err, metrics, start, new long[]{start}); }

        void onStep(SaeTrainer.Progress p) throws IOException {
            var s = p.stats();
            double elapsed = (System.nanoTime() - start) / 1e9;
            metrics.write(String.format(Locale.ROOT,
                    "{\"step\":%d,\"tokens\":%d,\"loss\":%.6g,\"mse\":%.6g,\"sparsity_loss\":%.6g,\"aux_loss\":%.6g,\"l0\":%.4f,"
                            + "\"explained_variance\":%.5f,\"dead_features\":%d,\"lr\":%.4g,\"sparsity_coefficient\":%.4g,\"seconds\":%.2f}%n",
                    p.step(), p.tokens(), s.loss(), s.mse(), s.sparsityLoss(), s.auxLoss(), s.l0(), s.explainedVariance(), p.deadFeatures(),
                    p.learningRate(), p.sparsityCoefficient(), elapsed));
            metrics.flush();
            long now = System.nanoTime();
            if (now - lastPrint[0] > 2_000_000_000L || p.step() == p.totalSteps()) {
                lastPrint[0] = now;
                err.printf(Locale.ROOT, "step %d/%d  tokens %d  loss %.4g  L0 %.1f  explained variance %.3f  dead %d  (%.0f tokens/s)%n",
                        p.step(), p.totalSteps(), p.tokens(), s.loss(), s.l0(), s.explainedVariance(), p.deadFeatures(), p.tokens() / Math.max(1e-9, elapsed));
            }
        }

        void finish(SaeTrainer.Result r) { err.flush(); }
    }
}
