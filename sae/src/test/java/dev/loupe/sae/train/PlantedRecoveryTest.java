package dev.loupe.sae.train;

import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each architecture, trained on activations mixed from a planted sparse dictionary (48 unit directions in 32
 * dimensions, ~3 active per row), finds the planted directions: the mean best decoder cosine is above 0.95 and at least 40 of
 * the 48 have a decoder row within cosine 0.9.
 */
class PlantedRecoveryTest {
    static Stream<Sparsity> architectures() {
        return Stream.of(new Sparsity.JumpRelu(3, 0.05f), new Sparsity.TopK(3), new Sparsity.BatchTopK(3), new Sparsity.Standard(1f));
    }

    @ParameterizedTest @MethodSource("architectures")
    void recoversPlantedDirections(Sparsity sparsity) throws Exception {
        PlantedFeatures data = new PlantedFeatures(32, 48, 3, 7);
        TrainOptions o = TrainOptions.defaults(sparsity, 64, 300_000).withBatchSize(512).withLearningRate(3e-3f);
        try (Backend backend = Backends.byName(Backends.CPU, 1)) {
            SaeTrainer.Result r = new SaeTrainer(o, data, backend, null).run(null);
            double[] cos = data.recovery(r.sae().parameters().decoder(), 64);
            double mean = Arrays.stream(cos).average().orElse(0);
            long found = Arrays.stream(cos).filter(c -> c > 0.9).count();
            String what = sparsity + ": mean best cosine " + mean + ", " + found + "/48 above 0.9, L0 " + r.lastStats().l0()
                    + ", EV " + r.lastStats().explainedVariance();
            System.out.println(what);
            assertTrue(mean > 0.95 && found >= 40, what);
        }
    }
}
