package dev.loupe.analysis;

import dev.loupe.errors.BadInputException;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;

import java.nio.file.Path;
import java.util.List;

/**
 * What one corpus run is: the model, its SAEs, the corpus's identity, where the files go and how.
 *
 * @param model     the loaded model (its backend runs the SAEs too)
 * @param modelPath the model's path as given, for {@code run.json} and the files' metadata
 * @param saes      the SAEs, each with the path it was loaded from
 * @param corpus    the corpus path (or partition name) and a hash of its content
 * @param runDir    the run folder
 * @param options   window, shard and example options
 */
public record IndexJob(Model model, String modelPath, List<RunSae> saes, CorpusId corpus, Path runDir, IndexOptions options) {
    public IndexJob {
        saes = List.copyOf(saes);
        if (saes.isEmpty()) throw new BadInputException("a corpus run needs at least one SAE");
    }

    /** An SAE of the run and the folder it was loaded from. */
    public record RunSae(Sae sae, String path) {}

    /**
     * What a run is over, for {@code run.json} and to recognise a run folder when resuming: the corpus path as
     * given (or a partition name) and a hash of its content (the same documents must give the same hash).
     */
    public record CorpusId(String path, String sha256) {}
}
