package dev.loupe.cli;

import dev.loupe.hooks.Activation;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import dev.loupe.sae.SaeCompatibility;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The options of the commands that attach an SAE to a model. */
final class SaeOptions {
    @Option(names = "--sae", required = true, paramLabel = "DIR",
            description = "Gemma Scope folder (params.npz, e.g. layer_20/width_16k/average_l0_71) or SAELens folder (cfg.json)")
    Path sae;

    @Option(names = "--hook", paramLabel = "NAME",
            description = "hook point the SAE reads (default: from the folder, e.g. layer_20 in a -res release -> blocks.20.hook_resid_post)")
    String hook;

    /** Loads the SAE onto the model's backend and checks it fits the model; close it before the model. */
    Sae load(Model model) throws IOException {
        Sae s = Sae.load(sae, hook, model.backend());
        try {
            SaeCompatibility.require(s, model);
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The activation at the SAE's hook for {@code ids}, running the model only as far as that hook. */
    static Activation activation(Model model, Sae sae, int[] ids) { return model.activation(ids, sae.hookName()); }
}
