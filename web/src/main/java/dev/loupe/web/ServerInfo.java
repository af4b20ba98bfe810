package dev.loupe.web;

import dev.loupe.analysis.RunManifest;

import java.util.List;

/**
 * {@code GET /api/info}: what the pages show about the run and the server. Paths are given as names only (the
 * last element): the API is for browsing the run, and the folders of the machine that wrote it are nobody's
 * business (nor, on another machine, of any use).
 */
final class ServerInfo {
    private ServerInfo() {}

    record LimitsView(int concurrency, int queueCapacity, long requestTimeoutSeconds, int maxPromptTokens, int maxNewTokens,
                      int defaultMaxTokens) {}

    record SaeView(String id, String name, String hook, int dSae, int dModel) {}

    record RunView(String loupeVersion, String modelName, List<SaeView> saes, String corpus, String corpusSha256, long documents,
                   long tokens, RunManifest.Options options, boolean complete) {}

    /**
     * @param typicalMaxActivation the median max activation over the run's live features: the pages shade a
     *                             feature's tokens relative to the larger of this and the feature's own max, so that a
     *                             feature that barely fires looks faint rather than at full colour
     */
    record Info(RunView run, String sae, String hook, int features, boolean live, String liveModel, LimitsView limits,
                Float typicalMaxActivation) {}

    static RunView run(RunManifest r) {
        return new RunView(r.loupeVersion(), r.model().name(),
                r.saes().stream().map(s -> new SaeView(s.id(), name(s.path()), s.hook(), s.dSae(), s.dModel())).toList(),
                name(r.corpus().path()), r.corpus().sha256(), r.documents(), r.tokens(), r.options(), r.complete());
    }

    /** The last element of a path as written on any system, or null. */
    static String name(String path) {
        if (path == null) return null;
        String p = path.replaceAll("[/\\\\]+$", "");
        int cut = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
        return cut < 0 ? p : p.substring(cut + 1);
    }
}
