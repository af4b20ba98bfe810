package dev.loupe.model.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.arch.TensorName;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.Floats;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a Gemma-family model (its config's architecture) of a given shape with random weights as a Hugging Face folder (config.json plus
 * model.safetensors, or shards with model.safetensors.index.json above {@link #MAX_SHARD_BYTES}, as
 * transformers' save_pretrained lays them out). For benchmarks and tests that need real sizes but no download.
 *
 * <p>Values come from a counter-based splitmix64 stream per tensor (keyed by seed and tensor name), so any
 * chunk can be generated independently on any thread and the same seed always gives the same bytes.
 */
public final class SyntheticCheckpoint {
    /** transformers' default max_shard_size ("5GB"). */
    public static final long MAX_SHARD_BYTES = 5_000_000_000L;
    /** Uniform ±a has standard deviation a/√3: this gives HF's initializer_range 0.02. */
    static final float WEIGHT_AMPLITUDE = (float) (0.02 * Math.sqrt(3));
    /** Norm weights w near 0, so the multipliers 1 + w stay near 1. */
    static final float NORM_AMPLITUDE = 0.1f;
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
        return write(config, dtype, out, seed, threads, MAX_SHARD_BYTES);
    }

    /** As {@link #write(ModelConfig, DType, Path, long, int)} with another shard size (tests shard tiny models). */
    static List<Path> write(ModelConfig config, DType dtype, Path out, long seed, int threads, long maxShardBytes) throws IOException {
        if (dtype.quantized()) throw new BadInputException("synthetic checkpoints are F32, F16 or BF16, not " + dtype);
        List<SafetensorsWriter.Tensor> tensors = tensors(config, dtype, seed);
        long bytes = 0;
        for (SafetensorsWriter.Tensor t : tensors) bytes += t.byteSize();
        dev.loupe.model.io.DiskSpace.require(out, bytes, "the " + dtype + " weights");
        Files.createDirectories(out);
        removeStaleWeights(out);
        List<Path> written = writeWeights(out, tensors, maxShardBytes, threads);
        // config.json last: a folder with a config is a complete checkpoint.
        writeConfig(out.resolve(HfCheckpoint.CONFIG), config, dtype, seed);
        return written;
    }

    /**
     * Writes {@code tensors} into {@code out} as transformers' save_pretrained lays them out: {@code model.safetensors},
     * or shards of at most {@code maxShardBytes} with {@code model.safetensors.index.json}. Returns the files written.
     */
    public static List<Path> writeWeights(Path out, List<SafetensorsWriter.Tensor> tensors, long maxShardBytes, int threads) throws IOException {
        List<List<SafetensorsWriter.Tensor>> shards = shard(tensors, maxShardBytes);
        Map<String, String> metadata = Map.of("format", "pt");
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path file = out.resolve(SafetensorsShards.SINGLE);
            SafetensorsWriter.write(file, metadata, tensors, threads);
            written.add(file);
        } else {
            Map<String, String> weightMap = new LinkedHashMap<>();
            long total = 0;
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Path file = out.resolve(name);
                SafetensorsWriter.write(file, metadata, shards.get(i), threads);
                written.add(file);
                for (SafetensorsWriter.Tensor t : shards.get(i)) {
                    weightMap.put(t.name(), name);
                    total += t.byteSize();
                }
            }
            writeIndex(out.resolve(SafetensorsShards.INDEX), weightMap, total);
        }
        return written;
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

    /** save_pretrained's rule: fill a shard in order until the next tensor would overflow it. */
    static List<List<SafetensorsWriter.Tensor>> shard(List<SafetensorsWriter.Tensor> tensors, long maxShardBytes) {
        List<List<SafetensorsWriter.Tensor>> shards = new ArrayList<>();
        List<SafetensorsWriter.Tensor> current = new ArrayList<>();
        long size = 0;
        for (SafetensorsWriter.Tensor t : tensors) {
            if (!current.isEmpty() && size + t.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteSize();
        }
        shards.add(current);
        return shards;
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

    /** The config goes first, so that an interrupted run never leaves a folder that looks complete. */
    private static void removeStaleWeights(Path out) throws IOException {
        Files.deleteIfExists(out.resolve(HfCheckpoint.CONFIG));
        Files.deleteIfExists(out.resolve(SafetensorsShards.SINGLE));
        Files.deleteIfExists(out.resolve(SafetensorsShards.INDEX));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out, "model-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9].safetensors")) {
            for (Path p : ds) Files.delete(p);
        }
    }

    private static void writeIndex(Path file, Map<String, String> weightMap, long totalSize) throws IOException {
        ObjectNode root = dev.loupe.model.io.LoupeJson.MAPPER.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.keySet().stream().sorted().forEach(k -> map.put(k, weightMap.get(k)));
        dev.loupe.model.io.AtomicFiles.write(file, dev.loupe.model.io.LoupeJson.PRETTY.writeValueAsBytes(root));
    }

    /** Also used by tests that write their own weights beside a transformers-style config. */
    static void writeConfig(Path file, ModelConfig c, DType dtype, long seed) throws IOException { writeConfig(file, c, dtype, (Long) seed); }

    /** A transformers-style config.json for a trained model (no synthetic seed recorded). */
    public static void writeTrainedConfig(Path file, ModelConfig c, DType dtype) throws IOException { writeConfig(file, c, dtype, (Long) null); }

    private static void writeConfig(Path file, ModelConfig c, DType dtype, Long seed) throws IOException {
        ObjectNode o = dev.loupe.model.io.LoupeJson.MAPPER.createObjectNode();
        Architecture arch = c.architecture();
        o.putArray("architectures").add(arch.hfClass());
        o.put("model_type", arch.hfModelTypes().getFirst());
        o.put("attention_bias", false);
        o.put("attention_dropout", 0.0);
        if (arch.softcaps()) o.put("attn_logit_softcapping", decimal(c.attnSoftcap()));
        o.put("bos_token_id", c.bosId());
        if (arch.softcaps()) o.put("cache_implementation", "hybrid");
        if (c.eosIds().size() == 1) o.put("eos_token_id", c.eosId());
        else c.eosIds().forEach(o.withArray("eos_token_id")::add);
        if (arch.softcaps()) o.put("final_logit_softcapping", decimal(c.finalSoftcap()));
        o.put("head_dim", c.headDim());
        o.put("hidden_act", "gelu_pytorch_tanh");
        o.put("hidden_activation", "gelu_pytorch_tanh");
        o.put("hidden_size", c.hiddenSize());
        o.put("initializer_range", 0.02);
        o.put("intermediate_size", c.intermediateSize());
        o.put("max_position_embeddings", c.maxPositions());
        o.put("num_attention_heads", c.numHeads());
        o.put("num_hidden_layers", c.numLayers());
        o.put("num_key_value_heads", c.numKvHeads());
        o.put("pad_token_id", 0);
        float qpas = c.queryPreAttnScalar();
        if (!arch.queryPreAttnScalar()) { /* scores scale by head_dim */ }
        else if (qpas == Math.rint(qpas)) o.put("query_pre_attn_scalar", (long) qpas);
        else o.put("query_pre_attn_scalar", decimal(qpas));
        o.put("rms_norm_eps", decimal(c.rmsNormEps()));
        if (c.slidingRope().equals(c.fullRope()) && c.fullRope().linearFactor() == 1f) {
            o.put("rope_theta", decimal(c.ropeTheta()));
        } else {
            // transformers 5's form: one RoPE per layer type.
            ObjectNode params = o.putObject("rope_parameters");
            for (LayerType t : LayerType.values()) ropeJson(params.putObject(t.hfName()), t == LayerType.SLIDING ? c.slidingRope() : c.fullRope());
        }
        if (c.layerTypes().contains(LayerType.SLIDING)) o.put("sliding_window", c.slidingWindow());
        if (!c.layerTypes().equals(arch.sliding().layerTypes(c.numLayers(), 0))) {
            c.layerTypes().forEach(t -> o.withArray("layer_types").add(t.hfName()));
        }
        o.put("tie_word_embeddings", true);
        o.put("torch_dtype", switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        });
        o.put("use_cache", true);
        o.put("vocab_size", c.vocabSize());
        if (seed != null) o.put("loupe_synthetic_seed", seed);
        dev.loupe.model.io.AtomicFiles.write(file, dev.loupe.model.io.LoupeJson.PRETTY.writeValueAsBytes(o));
    }

    private static void ropeJson(ObjectNode o, Rope r) {
        o.put("rope_type", r.linearFactor() == 1f ? "default" : "linear");
        if (r.linearFactor() != 1f) o.put("factor", decimal(r.linearFactor()));
        o.put("rope_theta", decimal(r.theta()));
    }

    /** The float's shortest decimal form as a double, so 1e-6f is written 1.0E-6 rather than 9.99999997E-7. */
    private static double decimal(float f) { return Double.parseDouble(Float.toString(f)); }
}
