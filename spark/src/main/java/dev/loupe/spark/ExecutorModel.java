package dev.loupe.spark;

import dev.loupe.analysis.Corpus;
import dev.loupe.analysis.IndexJob;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeCompatibility;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model and SAEs of one executor JVM, loaded by its first task and shared by the rest (weights are
 * memory-mapped, so tasks never copy them). The CPU backend keeps per-thread scratch buffers: one forward pass at a
 * time, so tasks that share the model take turns ({@link #job} holders synchronise on this object).
 */
final class ExecutorModel {
    private static ExecutorModel current;

    final String key;
    final Model model;
    final List<IndexJob.RunSae> saes;

    private ExecutorModel(String key, Model model, List<IndexJob.RunSae> saes) {
        this.key = key;
        this.model = model;
        this.saes = saes;
    }

    /** The loaded model of {@code spec}, loading it (and closing another job's) the first time. */
    static synchronized ExecutorModel of(JobSpec spec) throws IOException {
        if (current != null && current.key.equals(spec.modelKey())) return current;
        if (current != null) {
            for (IndexJob.RunSae s : current.saes) s.sae().close();
            current.model.close();
            current = null;
        }
        current = load(spec);
        return current;
    }

    static ExecutorModel load(JobSpec spec) throws IOException {
        Model m = Model.load(Path.of(spec.modelPath()), spec.backend(), spec.threads());
        List<IndexJob.RunSae> saes = new ArrayList<>();
        try {
            for (String p : spec.saePaths()) {
                Sae s = Sae.load(Path.of(p), spec.hook(), m.backend());
                saes.add(new IndexJob.RunSae(s, p));
                SaeCompatibility.require(s, m);
            }
        } catch (IOException | RuntimeException e) {
            for (IndexJob.RunSae s : saes) s.sae().close();
            m.close();
            throw e;
        }
        return new ExecutorModel(spec.modelKey(), m, List.copyOf(saes));
    }

    IndexJob job(JobSpec spec) {
        return new IndexJob(model, spec.modelPath(), saes, new IndexJob.CorpusId(spec.corpusPath(), spec.corpusSha256()),
                Path.of(spec.runDir()), spec.options());
    }

    /** Checks the corpus is readable here before the model is needed. */
    static void requireCorpus(JobSpec spec) throws IOException { Corpus.files(Path.of(spec.corpusPath())); }
}
