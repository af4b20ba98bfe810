package dev.loupe.tools.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.io.DiskSpace;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;
import dev.loupe.model.weights.HfCheckpoint;
import dev.loupe.model.weights.HfCheckpointWriter;
import dev.loupe.model.weights.ModelWeights;
import dev.loupe.model.weights.SafetensorsWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a Gemma-family model (its config's architecture) of a given shape with random weights as a Hugging Face folder
 * ({@link HfCheckpointWriter}'s layout: sharded above {@link HfCheckpointWriter#MAX_SHARD_BYTES}). For benchmarks and
 * tests that need real sizes but no download ({@code loupe synth}).
 *
 * <p>Values come from a counter-based splitmix64 stream per tensor (keyed by seed and tensor name), so any
 * chunk can be generated independently on any thread and the same seed always gives the same bytes.
 */
public final class SyntheticCheckpoint {
    /** Uniform ±a has standard deviation a/√3: this gives HF's initializer_range 0.02. */
    static final float WEIGHT_AMPLITUDE = (float) (0.02 * Math.sqrt(3));
    /** Norm weights w near 0, so the multipliers 1 + w stay near 1. */
    static final float NORM_AMPLITUDE = 0.1f;
    /** The config.json key that records the seed (transformers ignores unknown keys). */
    static final String SEED_KEY = "loupe_synthetic_seed";
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SyntheticCheckpoint() {}

    /**
     * Writes the folder and returns the weight files written. The config and weight files of an earlier
     * checkpoint in {@code out} are removed first, so a stale single file or index cannot shadow the new one.
     *
     * @param dtype F32, BF16 or F16
     */
    public static List<Path> write(ModelConfig config, DType dtype, Path out, long seed, int threads) throws IOException {
        return write(config, dtype, out, seed, threads, HfCheckpointWriter.MAX_SHARD_BYTES);
    }

    /** As {@link #write(ModelConfig, DType, Path, long, int)} with another shard size (tests shard tiny models). */
    static List<Path> write(ModelConfig config, DType dtype, Path out, long seed, int threads, long maxShardBytes) throws IOException {
        if (dtype.quantized()) throw new BadInputException("synthetic checkpoints are F32, F16 or BF16, not " + dtype);
        List<SafetensorsWriter.Tensor> tensors = tensors(config, dtype, seed);
        long bytes = 0;
        for (SafetensorsWriter.Tensor t : tensors) bytes += t.byteSize();
        DiskSpace.require(out, bytes, "the " + dtype + " weights");
        Files.createDirectories(out);
        HfCheckpointWriter.removeCheckpointFiles(out);
        List<Path> written = HfCheckpointWriter.writeWeights(out, tensors, maxShardBytes, threads);
        // config.json last: a folder with a config is a complete checkpoint.
        ObjectNode cfg = HfCheckpointWriter.config(config, dtype);
        cfg.put(SEED_KEY, seed);
        HfCheckpointWriter.writeConfig(out.resolve(HfCheckpoint.CONFIG), cfg);
        return written;
    }

    /**
     * Writes the same weights as {@link #write(ModelConfig, DType, Path, long, int)} with this seed as one GGUF file
     * ({@link GgufExport}, placeholder vocabulary): the HF folder is synthesized beside {@code file} under a temporary
     * name, converted and removed, so a GGUF and an HF folder of one seed hold identical values.
     */
    public static void writeGguf(ModelConfig config, DType dtype, Path file, long seed, int threads) throws IOException {
        Path target = file.toAbsolutePath();
        if (Files.isDirectory(target)) throw BadInputException.of("file", target + " is a folder; a GGUF is one file");
        Path folder = target.resolveSibling(target.getFileName() + ".hf.partial");
        long h = config.hiddenSize(), params = (long) config.vocabSize() * h + h + (long) config.numLayers()
                * (2L * config.qDim() * h + 2L * config.kvDim() * h + 3L * config.intermediateSize() * h + 4 * h);
        // The folder and the file exist together until the conversion is done.
        DiskSpace.require(target.getParent(), 2 * dtype.bytesFor(params), "the " + dtype + " folder and its GGUF copy");
        try {
            write(config, dtype, folder, seed, threads);
            try (ModelWeights w = HfCheckpoint.load(folder)) {
                GgufExport.write(w, target);
            }
        } finally {
            deleteFolder(folder);
        }
    }

    private static void deleteFolder(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) return;
        try (var files = Files.list(folder)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.delete(f);
        }
        Files.delete(folder);
    }

    /** The tensors of the config's architecture: per block its matrices, then its norms, each in the architecture's order. */
    static List<SafetensorsWriter.Tensor> tensors(ModelConfig c, DType dtype, long seed) {
        List<SafetensorsWriter.Tensor> ts = new ArrayList<>();
        String text = TensorName.HF_TEXT_PREFIX;
        ts.add(random(text + Architecture.HF_EMBEDDING, dtype, seed, WEIGHT_AMPLITUDE, c.vocabSize(), c.hiddenSize()));
        for (int l = 0; l < c.numLayers(); l++) {
            for (boolean matrices : new boolean[]{true, false}) {
                for (TensorName t : c.architecture().layerTensors()) {
                    if (t.role().isMatrix() != matrices) continue;
                    ts.add(random(t.hfAt(l), dtype, seed, matrices ? WEIGHT_AMPLITUDE : NORM_AMPLITUDE, t.role().shape(c)));
                }
            }
        }
        ts.add(random(text + Architecture.HF_FINAL_NORM, dtype, seed, NORM_AMPLITUDE, c.hiddenSize()));
        return ts;
    }

    private static SafetensorsWriter.Tensor random(String name, DType dtype, long seed, float amplitude, long... shape) {
        long key = mix(seed ^ mix(fnv1a(name)));
        int width = (int) dtype.bytesFor(1);
        return new SafetensorsWriter.Tensor(name, dtype, shape, (offset, dst) -> {
            long first = offset / width;
            long n = dst.byteSize() / width;
            fill(key, amplitude, dtype, first, n, dst);
        });
    }

    /** Element i is the (i mod 2)-th 32-bit half of splitmix64 output i/2, scaled to [-amplitude, amplitude). */
    private static void fill(long key, float amplitude, DType dtype, long first, long n, MemorySegment dst) {
        float scale = amplitude / 2147483648f;
        for (long j = 0; j < n; j++) {
            long i = first + j;
            long word = mix(key + (i >>> 1) * GOLDEN_GAMMA);
            int bits = (i & 1) == 0 ? (int) word : (int) (word >>> 32);
            float v = bits * scale;
            switch (dtype) {
                case BF16 -> dst.set(I16, 2 * j, Floats.floatToBf16(v));
                case F16 -> dst.set(I16, 2 * j, Floats.floatToF16(v));
                default -> dst.set(F32, 4 * j, v);
            }
        }
    }

    /** splitmix64's output function. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
