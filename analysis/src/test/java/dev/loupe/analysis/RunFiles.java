package dev.loupe.analysis;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Test helpers that read a run's Arrow files straight through Arrow Java (not through FeatureStore). */
final class RunFiles {
    private RunFiles() {}

    /** All rows of an int/float file, column by column, as doubles. */
    static Map<String, double[]> columns(Path file) throws IOException {
        Map<String, List<Double>> cols = new HashMap<>();
        try (BufferAllocator a = new RootAllocator(); ArrowFileReader r = ArrowFiles.open(file, a)) {
            VectorSchemaRoot root = r.getVectorSchemaRoot();
            while (r.loadNextBatch()) {
                for (FieldVector v : root.getFieldVectors()) {
                    List<Double> l = cols.computeIfAbsent(v.getName(), k -> new ArrayList<>());
                    for (int i = 0; i < root.getRowCount(); i++) {
                        if (v instanceof IntVector iv) l.add((double) iv.get(i));
                        else if (v instanceof Float4Vector fv) l.add((double) fv.get(i));
                        else if (v instanceof org.apache.arrow.vector.BigIntVector bv) l.add((double) bv.get(i));
                        else if (v instanceof org.apache.arrow.vector.Float8Vector dv) l.add(dv.get(i));
                    }
                }
            }
        }
        Map<String, double[]> out = new HashMap<>();
        cols.forEach((k, v) -> out.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
        return out;
    }

    /** Activation rows of every shard of an SAE folder: (doc, pos) -> (feature -> activation), in file order. */
    static TreeMap<Long, Map<Integer, Float>> activations(Path saeDir) throws IOException {
        TreeMap<Long, Map<Integer, Float>> out = new TreeMap<>();
        for (Path shard : shards(saeDir)) {
            Map<String, double[]> c = columns(shard);
            for (int i = 0; i < c.get("doc_id").length; i++) {
                long key = ((long) c.get("doc_id")[i] << 32) | (long) c.get("pos")[i];
                out.computeIfAbsent(key, k -> new HashMap<>()).put((int) c.get("feature_id")[i], (float) c.get("activation")[i]);
            }
        }
        return out;
    }

    static List<Path> shards(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("activations-\\d{5}\\.arrow")).sorted().toList();
        }
    }

    /** Every file under a folder, relative path -> bytes. */
    static Map<String, byte[]> tree(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
        }
        return out;
    }

    /**
     * Every file under a folder by what it holds: an Arrow file as its fields and each record batch's rows (so the
     * schema metadata, which names the run, is left out), any other file as its bytes.
     */
    static Map<String, byte[]> contents(Path dir) throws IOException {
        Map<String, byte[]> out = tree(dir);
        for (Map.Entry<String, byte[]> e : out.entrySet()) {
            if (!e.getKey().endsWith(".arrow")) continue;
            StringBuilder b = new StringBuilder();
            try (BufferAllocator a = new RootAllocator(); ArrowFileReader r = ArrowFiles.open(dir.resolve(e.getKey()), a)) {
                VectorSchemaRoot root = r.getVectorSchemaRoot();
                b.append(root.getSchema().getFields()).append('\n');
                while (r.loadNextBatch()) b.append("-- batch\n").append(root.contentToTSVString());
            }
            e.setValue(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return out;
    }

    static List<String> differences(Map<String, byte[]> a, Map<String, byte[]> b) {
        List<String> out = new ArrayList<>();
        if (!a.keySet().equals(b.keySet())) out.add("file sets differ: " + a.keySet() + " vs " + b.keySet());
        for (String k : a.keySet()) if (b.containsKey(k) && !Arrays.equals(a.get(k), b.get(k))) out.add(k + " differs");
        return out;
    }
}
