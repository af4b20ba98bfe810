package dev.loupe.cli;

import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.Document;
import dev.loupe.analysis.flags.Flags;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.io.LoupeJson;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tokenizer.Tokenizer;
import dev.loupe.model.tokenizer.Tokenizers;
import dev.loupe.model.train.LmTrainOptions;
import dev.loupe.model.train.LmTrainer;
import dev.loupe.model.weights.HfCheckpoint;
import dev.loupe.model.weights.HfCheckpointWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code loupe train-lm}: trains a small Gemma 2 from scratch on a corpus with the real Gemma tokenizer and writes a
 * Hugging Face folder (config.json, model.safetensors, tokenizer.json) that every Loupe command loads, plus
 * metrics.jsonl (the loss curve) and train-lm.json (held-out loss beside the unigram baseline's). The folder is built
 * under a temporary name and renamed when complete.
 */
@Command(name = "train-lm", mixinStandardHelpOptions = true,
        description = {"Train a small Gemma 2 from scratch on a corpus (next-token loss, AdamW, warm-up then cosine decay).",
                "The softmax runs over the token ids the training windows hold (one shared class for the rest), yet the folder "
                        + "written is a normal full-vocabulary checkpoint computing the same distribution."})
final class TrainLmCommand implements Callable<Integer>, Flags.Named {
    /** The library names the learning rate {@code learningRate}; the flag is short. */
    @Override public java.util.Map<String, String> flagNames() { return java.util.Map.of("learningRate", "--lr"); }

    static final String STATE = "train-lm.json", METRICS = "metrics.jsonl";

    @Option(names = "--shape", required = true, paramLabel = "SHAPE", description = "toy (d_model 128, 2 layers), small (256, 4 layers) or tiny")
    String shape;

    @Option(names = "--corpus", required = true, paramLabel = "FILE", description = "corpus: .txt (one document per line), .jsonl (\"text\"), or a folder of them")
    Path corpus;

    @Option(names = "--tokens", required = true, paramLabel = "N", description = "training tokens (at most --epochs passes over the corpus)")
    long tokens;

    @Option(names = "--epochs", defaultValue = "1", paramLabel = "N", description = "most passes over the corpus that --tokens may take (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder: new or empty")
    Path out;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Gemma tokenizer.json (default: bin/setup's .cache/testdata/gemma-tokenizer/tokenizer.json)")
    Path tokenizer;

    @Option(names = "--seq-len", defaultValue = "64", paramLabel = "N", description = "tokens per window, <bos> included (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "N", description = "windows per step (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--lr", defaultValue = "3e-3", paramLabel = "LR", description = "peak AdamW learning rate (default: ${DEFAULT-VALUE})")
    float lr;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "initialisation and shuffling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--held-out", defaultValue = "0.05", paramLabel = "SHARE", description = "share of the documents (the last ones) held out (default: ${DEFAULT-VALUE})")
    double heldOut;

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "threads (default: ${DEFAULT-VALUE})")
    int threads;

    @Override public Integer call() throws Exception {
        if (tokens < 1) throw new BadInputException("--tokens must be at least 1, got " + tokens);
        if (epochs < 1) throw new BadInputException("--epochs must be at least 1, got " + epochs);
        if (seqLen < 2) throw new BadInputException("--seq-len must be at least 2, got " + seqLen);
        if (batch < 1) throw new BadInputException("--batch must be at least 1, got " + batch);
        if (!(lr > 0) || Float.isInfinite(lr)) throw new BadInputException("--lr must be a positive number, got " + lr);
        if (!(heldOut > 0 && heldOut < 1)) throw new BadInputException("--held-out must be a share in (0, 1), got " + heldOut);
        if (threads < 1) throw new BadInputException("--threads must be at least 1, got " + threads);
        ModelConfig config;
        try {
            config = ModelConfig.shape(shape);
        } catch (BadInputException e) {
            throw new BadInputException("--shape " + e.getMessage(), e);
        }
        requireNewFolder();
        Path tok = tokenizerFile();
        Tokenizer t = Tokenizers.load(tok);
        config = config.withVocabSize(t.vocabSize());
        if (t.bosId() != config.bosId() || !config.eosIds().contains(t.eosId())) {
            throw new BadInputException("--tokenizer " + tok + ": <bos> " + t.bosId() + " / <eos> " + t.eosId() + " are not Gemma's (2 / 1)");
        }
        Corpus.files(corpus);  // one line when the path holds no corpus files
        List<int[]> docs = new ArrayList<>();
        for (var it = Corpus.read(corpus, false, dev.loupe.analysis.IndexProgress.NONE); it.hasNext(); ) {
            Document d = it.next();
            docs.add(d.tokens() != null ? d.tokens() : t.encode(d.text()));
        }
        if (docs.isEmpty()) throw new BadInputException("--corpus " + corpus + ": no documents");
        LmTrainOptions options = LmTrainOptions.defaults(tokens).withEpochs(epochs).withSeqLen(seqLen).withBatch(batch).withLearningRate(lr)
                .withHeldOut(heldOut).withSeed(seed).withThreads(threads);
        LmTrainer trainer;
        try {
            trainer = new LmTrainer(config, docs, options);
        } catch (BadInputException e) {
            if (!"tokens".equals(e.parameter())) throw e;
            throw new BadInputException("--corpus " + corpus + " is too small for --tokens " + tokens + ": " + e.problem(), e);
        }
        PrintStream err = System.err;
        Path tmp = out.resolveSibling(out.getFileName() + AtomicFiles.SUFFIX);
        deleteFolder(tmp);
        Files.createDirectories(tmp);
        LmTrainer.Result result;
        try {
            err.printf(Locale.ROOT, "train-lm: %s shape, %d training windows, softmax over %d of %d ids (+1 shared class)%n",
                    shape, trainer.data().train().size(), trainer.vocab().size(), config.vocabSize());
            try (BufferedWriter metrics = Files.newBufferedWriter(tmp.resolve(METRICS), StandardCharsets.UTF_8)) {
                result = trainer.train(s -> {
                    try {
                        metrics.write(String.format(Locale.ROOT, "{\"step\":%d,\"tokens\":%d,\"loss\":%.5f,\"lr\":%.6g,\"seconds\":%.2f}%n",
                                s.step(), s.tokens(), s.loss(), s.learningRate(), s.seconds()));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    if (s.step() == s.steps() || s.step() % Math.max(1, s.steps() / 20) == 0) {
                        err.printf(Locale.ROOT, "step %d/%d  tokens %,d  loss %.3f  lr %.2e  %.0f tokens/s%n", s.step(), s.steps(), s.tokens(),
                                s.loss(), s.learningRate(), s.tokens() / Math.max(1e-9, s.seconds()));
                    }
                });
            }
            HfCheckpointWriter.writeWeights(tmp, trainer.tensors(), HfCheckpointWriter.MAX_SHARD_BYTES, threads);
            Files.copy(tok, tmp.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            Path tokConfig = tok.resolveSibling("tokenizer_config.json");
            if (Files.isRegularFile(tokConfig)) Files.copy(tokConfig, tmp.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
            writeState(tmp.resolve(STATE), result, trainer);
            HfCheckpointWriter.writeConfig(tmp.resolve(HfCheckpoint.CONFIG), config, DType.F32);
        } finally {
            trainer.close();
        }
        if (Files.isDirectory(out)) Files.delete(out);  // checked empty above
        Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        System.out.printf(Locale.ROOT, "wrote %s: %s Gemma 2, %,d tokens in %d steps (%.0f s, %.0f tokens/s)%n", out, shape, result.tokens(),
                result.steps(), result.seconds(), result.tokens() / result.seconds());
        System.out.printf(Locale.ROOT, "held-out loss %.3f nats/token over %,d tokens; unigram baseline %.3f%n", result.heldOutLoss(),
                result.heldOutTokens(), result.unigramHeldOutLoss());
        return 0;
    }

    private Path tokenizerFile() throws IOException {
        Path p = tokenizer;
        if (p == null) {
            String root = System.getenv("LOUPE_ROOT");
            p = Path.of(root == null ? "." : root, ".cache", "testdata", "gemma-tokenizer", "tokenizer.json");
            if (!Files.isRegularFile(p)) throw new BadInputException("--tokenizer: not given and " + p + " is missing (run bin/setup)");
        }
        if (Files.isDirectory(p)) p = p.resolve("tokenizer.json");
        if (!Files.isRegularFile(p)) throw new BadInputException("--tokenizer " + p + ": no such file");
        return p;
    }

    /** {@code --out} must be new or an empty folder: a trained model is never written over something else. */
    private void requireNewFolder() throws IOException {
        OutputPaths.requireFolder(out, "--out");
        if (Files.exists(out) && !Files.isDirectory(out)) throw new BadInputException("--out " + out + ": is a file, expected a folder");
        if (Files.isDirectory(out)) {
            try (Stream<Path> files = Files.list(out)) {
                if (files.findAny().isPresent()) {
                    throw new BadInputException("--out " + out + ": the folder holds other files; choose a new or empty folder");
                }
            }
        }
    }

    private void writeState(Path file, LmTrainer.Result r, LmTrainer trainer) throws IOException {
        ObjectNode o = LoupeJson.MAPPER.createObjectNode();
        o.put("shape", shape);
        o.put("corpus", corpus.toString());
        o.put("tokens", r.tokens());
        o.put("steps", r.steps());
        o.put("epochs_allowed", epochs);
        o.put("seq_len", seqLen);
        o.put("batch", batch);
        o.put("lr", lr);
        o.put("seed", seed);
        o.put("softmax_ids", r.vocabUsed());
        o.put("final_train_loss", r.finalLoss());
        o.put("held_out_loss", r.heldOutLoss());
        o.put("unigram_held_out_loss", r.unigramHeldOutLoss());
        o.put("held_out_tokens", r.heldOutTokens());
        o.put("seconds", r.seconds());
        o.put("tokens_per_second", r.tokens() / r.seconds());
        AtomicFiles.write(file, LoupeJson.PRETTY.writeValueAsBytes(o));
    }

    private static void deleteFolder(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) return;
        try (Stream<Path> files = Files.list(folder)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.delete(f);
        }
        Files.delete(folder);
    }
}
