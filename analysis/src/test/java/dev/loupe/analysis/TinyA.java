package dev.loupe.analysis;

import dev.loupe.model.Fixtures;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/** The tiny-a fixture model and its SAE (blocks.2.hook_resid_post), and small corpus runs over them. */
final class TinyA {
    static final String HOOK = "blocks.2.hook_resid_post";

    private TinyA() {}

    static Path gguf() { return Fixtures.file("tiny-a/tiny-a-f32.gguf"); }

    static Path saeDir() { return Fixtures.file("tiny-a/sae"); }

    static Model model() { return Model.load(gguf(), 1); }

    static Sae sae(Model m, String hook) throws IOException { return Sae.load(saeDir(), hook, m.backend()); }

    /** English text documents (tiny-a's vocabulary is bytes and a few hundred merges, so ~1 token per 2 chars). */
    static final List<String> TEXT = List.of(
            "The Golden Gate Bridge opened in 1937 and spans the strait at the mouth of San Francisco Bay.",
            "Rain tapped against the glass all night while the harbour lights blinked.",
            "One, three, five, seven, eleven: the first odd primes and one that is not.",
            "Water boils at one hundred degrees at sea level and at lower temperatures on mountains.",
            "She read the error message twice before laughing at the missing semicolon.");

    static Path writeText(Path dir) throws IOException {
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, String.join("\n", TEXT) + "\n");
        return f;
    }

    static IndexResult index(Model m, List<Sae> saes, Path corpus, Path out, IndexOptions o) throws IOException {
        List<IndexJob.RunSae> rs = saes.stream().map(s -> new IndexJob.RunSae(s, saeDir().toString())).toList();
        IndexJob job = new IndexJob(m, gguf().toString(), rs, new IndexJob.CorpusId(corpus.toString(), Corpus.sha256(corpus)), out, o);
        Iterator<Document> docs = Corpus.read(corpus, o.skipBadLines(), IndexProgress.NONE);
        return CorpusIndexer.index(job, docs, IndexProgress.NONE);
    }
}
