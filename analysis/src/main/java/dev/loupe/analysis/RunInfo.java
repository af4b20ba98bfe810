package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;

import java.util.List;
import java.util.Map;

/**
 * A corpus run's {@code run.json}, parsed.
 *
 * @param loupeVersion  the Loupe version that wrote the run
 * @param model         the model path as given to {@code index}
 * @param modelName     a short name for the model (its folder or file name)
 * @param saes          the SAEs of the run, in the order given
 * @param corpus        the corpus path as given ({@code null} for a library run over an iterator)
 * @param corpusSha256  hash of the corpus's documents as the indexer read them
 * @param documents     documents indexed
 * @param tokens        tokens indexed ({@code <bos>} included)
 * @param options       the indexing options ({@code context}, {@code max_tokens}, {@code compression}, ...)
 * @param complete      whether the run finished (a run being written or interrupted has {@code false})
 */
public record RunInfo(String loupeVersion, String model, String modelName, List<SaeEntry> saes, String corpus,
                      String corpusSha256, long documents, long tokens, Map<String, Object> options, boolean complete) {
    public RunInfo {
        saes = List.copyOf(saes);
        options = Map.copyOf(options);
    }

    /**
     * One SAE of a run.
     *
     * @param id     the SAE's id in the run (its sub-folder name with several SAEs)
     * @param dir    the folder of its files relative to the run folder ({@code "."} for a single-SAE run)
     * @param path   the SAE folder as given to {@code index}
     * @param hook   the hook point it reads
     */
    public record SaeEntry(String id, String dir, String path, String hook, int dSae, int dModel) {}

    /** The SAE with this id; fails with the ids there are. */
    public SaeEntry sae(String id) {
        for (SaeEntry e : saes) if (e.id().equals(id)) return e;
        throw new BadInputException("run has no SAE '" + id + "'; it has " + saes.stream().map(SaeEntry::id).toList());
    }
}
