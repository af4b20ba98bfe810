package dev.loupe.model.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.errors.BadInputException;
import dev.loupe.model.tensor.WeightTensor;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors weights of a Hugging Face folder: either one {@code model.safetensors} or the shards named
 * by {@code model.safetensors.index.json} ({@code weight_map}: tensor name → shard file). Like transformers,
 * a single {@code model.safetensors} wins when both are present.
 */
public final class SafetensorsShards implements Closeable {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private final List<SafetensorsFile> files;
    /** Tensor name → the file holding it. */
    private final Map<String, SafetensorsFile> byName;
    /** The index file when sharded (for error messages), else null. */
    private final Path index;

    private SafetensorsShards(List<SafetensorsFile> files, Map<String, SafetensorsFile> byName, Path index) {
        this.files = files;
        this.byName = byName;
        this.index = index;
    }

    public static SafetensorsShards open(Path folder) throws IOException {
        Path single = folder.resolve(SINGLE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (String name : f.names()) byName.put(name, f);
            return new SafetensorsShards(List.of(f), byName, null);
        }
        Path index = folder.resolve(INDEX);
        if (!Files.isRegularFile(index)) {
            throw new IOException(folder + ": no " + SINGLE + " and no " + INDEX + " (expected a Hugging Face model folder)");
        }
        return openSharded(folder, index);
    }

    private static SafetensorsShards openSharded(Path folder, Path index) throws IOException {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                String shardName = e.getValue();
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path shardPath = folder.resolve(shardName);
                    if (!Files.isRegularFile(shardPath)) {
                        throw new IOException(index + ": shard " + shardName + " (holding " + e.getKey() + ") does not exist");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.has(e.getKey())) {
                    throw new IOException(shard.path() + ": tensor " + e.getKey() + " is listed in " + index.getFileName()
                            + " but missing from this shard");
                }
                byName.put(e.getKey(), shard);
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : shards.values()) f.close();
            throw e;
        }
        return new SafetensorsShards(new ArrayList<>(shards.values()), byName, index);
    }

    private static Map<String, String> readWeightMap(Path index) throws IOException {
        JsonNode root;
        try {
            root = dev.loupe.model.io.LoupeJson.MAPPER.readTree(Files.readString(index));
        } catch (JsonProcessingException e) {
            throw new IOException(index + ": not valid JSON: " + dev.loupe.model.io.LoupeJson.describe(e));
        } catch (NoSuchFileException e) {
            throw new IOException(index + ": does not exist");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(index + ": not UTF-8 text (a binary file?)");
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new IOException(index + ": expected a non-empty \"weight_map\" object (tensor name -> shard file)");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual() || !isPlainFileName(v.textValue())) {
                throw new IOException(index + ": weight_map entry " + e.getKey() + " must name a shard file in the same folder, found " + v);
            }
            out.put(e.getKey(), v.textValue());
        }
        return out;
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.equals(".") && !s.equals("..") && s.indexOf('/') < 0 && s.indexOf('\\') < 0 && s.indexOf('\0') < 0;
    }

    public boolean has(String name) { return byName.containsKey(name); }

    public Set<String> names() { return Collections.unmodifiableSet(byName.keySet()); }

    /** The tensor, or a one-line error naming the file (the index when sharded) that should have held it. */
    public WeightTensor tensor(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            String where = index != null ? index + ": weight_map" : files.getFirst().path().toString();
            throw new BadInputException(where + ": tensor " + name + " is missing");
        }
        return f.tensor(name);
    }

    /** The files actually opened, in order. */
    public List<Path> paths() { return files.stream().map(SafetensorsFile::path).toList(); }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
