package dev.loupe.model.weights;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.ModelConfig;
import dev.loupe.model.arch.Architecture;
import dev.loupe.model.arch.LayerType;
import dev.loupe.model.arch.Rope;
import dev.loupe.model.io.AtomicFiles;
import dev.loupe.model.io.LoupeJson;
import dev.loupe.model.tensor.DType;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a Hugging Face checkpoint folder as transformers' save_pretrained lays it out: {@code config.json} plus
 * {@code model.safetensors}, or shards with {@code model.safetensors.index.json} above a shard size. {@code train-lm}
 * saves the model it trained with it; the random-weight generator in the tools module writes through it too.
 */
public final class HfCheckpointWriter {
    /** transformers' default max_shard_size ("5GB"). */
    public static final long MAX_SHARD_BYTES = 5_000_000_000L;

    private HfCheckpointWriter() {}

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

    /** save_pretrained's rule: fill a shard in order until the next tensor would overflow it. */
    public static List<List<SafetensorsWriter.Tensor>> shard(List<SafetensorsWriter.Tensor> tensors, long maxShardBytes) {
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

    /**
     * Removes the config and weight files of an earlier checkpoint in {@code out}, so that a stale single file or index
     * cannot shadow the new one. The config goes first, so that an interrupted run never leaves a folder that looks
     * complete.
     */
    public static void removeCheckpointFiles(Path out) throws IOException {
        Files.deleteIfExists(out.resolve(HfCheckpoint.CONFIG));
        Files.deleteIfExists(out.resolve(SafetensorsShards.SINGLE));
        Files.deleteIfExists(out.resolve(SafetensorsShards.INDEX));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out, "model-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9].safetensors")) {
            for (Path p : ds) Files.delete(p);
        }
    }

    private static void writeIndex(Path file, Map<String, String> weightMap, long totalSize) throws IOException {
        ObjectNode root = LoupeJson.MAPPER.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.keySet().stream().sorted().forEach(k -> map.put(k, weightMap.get(k)));
        AtomicFiles.write(file, LoupeJson.PRETTY.writeValueAsBytes(root));
    }

    /** Writes {@link #config} to {@code file} (via a temporary name). Write it last: a folder with a config is complete. */
    public static void writeConfig(Path file, ModelConfig c, DType dtype) throws IOException { writeConfig(file, config(c, dtype)); }

    /** Writes a config built by {@link #config} (and perhaps extended) to {@code file} (via a temporary name). */
    public static void writeConfig(Path file, ObjectNode config) throws IOException {
        AtomicFiles.write(file, LoupeJson.PRETTY.writeValueAsBytes(config));
    }

    /** A transformers-style config.json for {@code c} with weights stored in {@code dtype}. */
    public static ObjectNode config(ModelConfig c, DType dtype) {
        ObjectNode o = LoupeJson.MAPPER.createObjectNode();
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
        return o;
    }

    private static void ropeJson(ObjectNode o, Rope r) {
        o.put("rope_type", r.linearFactor() == 1f ? "default" : "linear");
        if (r.linearFactor() != 1f) o.put("factor", decimal(r.linearFactor()));
        o.put("rope_theta", decimal(r.theta()));
    }

    /** The float's shortest decimal form as a double, so 1e-6f is written 1.0E-6 rather than 9.99999997E-7. */
    private static double decimal(float f) { return Double.parseDouble(Float.toString(f)); }
}
