package dev.loupe.model.weights;

import dev.loupe.model.tools.GgufExport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/** Other forms of a fixture's weights, written in tests: a sharded HF folder, a GGUF file. */
public final class FixtureVariants {
    private FixtureVariants() {}

    /** {@code hf} re-saved as shards of at most {@code maxShardBytes} (the same tensors, bytes and other files). */
    public static Path sharded(Path hf, Path out, long maxShardBytes) throws IOException {
        Files.createDirectories(out);
        try (var files = Files.list(hf)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().endsWith(".safetensors")) Files.copy(f, out.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        try (SafetensorsShards src = SafetensorsShards.open(hf)) {
            List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
            for (String name : src.names().stream().sorted().toList()) {
                var t = src.tensor(name);
                tensors.add(SafetensorsWriter.Tensor.ofBytes(name, t.dtype(), t.shape(), t.data()));
            }
            List<Path> written = SyntheticCheckpoint.writeWeights(out, tensors, maxShardBytes, 1);
            if (written.size() < 2) throw new IllegalStateException("expected several shards, wrote " + written);
        }
        return out;
    }

    /** {@code hf} written as a GGUF file (the norms as {@code 1 + w}, as llama.cpp's converter stores them). */
    public static Path gguf(Path hf, Path out) throws IOException {
        try (ModelWeights w = HfCheckpoint.load(hf)) {
            GgufExport.write(w, out);
        }
        return out;
    }
}
