package dev.loupe.analysis;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Where each file of a run lives. With one SAE everything sits in the run folder; with several each SAE has a sub-folder. */
record RunLayout(Path runDir, List<String> saeIds) {
    static final String RUN_JSON = "run.json";
    static final String TOKENS = "tokens.arrow";
    static final String DOCUMENTS = "documents.arrow";
    static final String FEATURES = "features.arrow";
    static final String EXAMPLES = "top_examples.arrow";
    /** Work files of an unfinished run (token parts and shard completion markers); removed when the run completes. */
    static final String PARTIAL = ".partial";

    RunLayout {
        saeIds = List.copyOf(saeIds);
    }

    boolean single() { return saeIds.size() == 1; }

    String saeDirName(int sae) { return single() ? "." : saeIds.get(sae); }

    Path saeDir(int sae) { return single() ? runDir : runDir.resolve(saeIds.get(sae)); }

    Path shard(int sae, int shard) { return saeDir(sae).resolve(shardName(shard)); }

    static String shardName(int shard) { return String.format(Locale.ROOT, "activations-%05d.arrow", shard); }

    Path partial() { return runDir.resolve(PARTIAL); }

    Path tokenPart(int shard) { return partial().resolve(String.format(Locale.ROOT, "tokens-%05d.arrow", shard)); }

    Path marker(int shard) { return partial().resolve(String.format(Locale.ROOT, "shard-%05d.json", shard)); }

    Path runJson() { return runDir.resolve(RUN_JSON); }
}
