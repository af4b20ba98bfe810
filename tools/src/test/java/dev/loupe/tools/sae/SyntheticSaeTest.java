package dev.loupe.tools.sae;

import dev.loupe.model.ReferenceBackend;
import dev.loupe.sae.Sae;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticSaeTest {
    @TempDir Path tmp;

    @Test void writesALoadableGemmaScopeArchiveWithTiedWeightsAndTheTargetL0() throws IOException {
        Path dir = tmp.resolve("synth");
        SyntheticSae.write(dir, 32, 1024, 40, 7);
        assertTrue(Files.isRegularFile(dir.resolve("params.npz")));
        assertFalse(Files.exists(dir.resolve("params.npz.partial")));
        try (Sae sae = Sae.load(dir, "blocks.0.hook_resid_post", new ReferenceBackend())) {
            assertEquals(32, sae.dIn());
            assertEquals(1024, sae.dSae());
            for (long f : new long[]{0, 17, 1023}) {
                for (long i : new long[]{0, 5, 31}) {
                    assertEquals(sae.decoderWeight().get(f * 32 + i), sae.encoderWeight().get(i * 1024 + f), 0f);
                }
            }
            SaeBenchmark.Result r = SaeBenchmark.run(sae, 200, 64, 1, 3);
            // 200·1024 Bernoulli(40/1024) draws: the mean is 40 ± 0.5 (one standard deviation).
            assertEquals(40, r.meanL0(), 3);
            assertTrue(r.encodeTokensPerSecond() > 0);
        }
    }

    @Test void upperTailIsTheNormalTail() {
        assertEquals(0.5, SyntheticSae.upperTail(0), 1e-7);
        assertEquals(0.158655, SyntheticSae.upperTail(1), 1e-6);
        assertEquals(0.0227501, SyntheticSae.upperTail(2), 1e-6);
        assertEquals(1.959964, SyntheticSae.inverseNormalTail(0.025), 1e-4);
    }
}
