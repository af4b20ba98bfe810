package dev.loupe.web.bench;

import dev.loupe.model.Fixtures;
import dev.loupe.analysis.CorpusIndexer;
import dev.loupe.analysis.Document;
import dev.loupe.analysis.IndexJob;
import dev.loupe.analysis.IndexOptions;
import dev.loupe.analysis.IndexProgress;
import dev.loupe.analysis.IndexResult;
import dev.loupe.model.Model;
import dev.loupe.sae.Sae;
import dev.loupe.sae.io.NpzWriter;
import dev.loupe.web.Limits;
import dev.loupe.web.LoupeServer;
import dev.loupe.web.ServerOptions;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The browsing API on a run of realistic size, built from a model: the tiny-a fixture model with a synthetic
 * 16k-wide JumpReLU SAE at blocks.2.hook_resid_post, over random token documents until the activation shards hold
 * at least 10M rows. Then a server over the run answers the feature list, feature cards with examples and
 * searches; warm latencies (median, p95 over HTTP on this machine) and the heap in use are printed.
 *
 * <p>Usage: {@code BrowseBench OUT_DIR [rows]} (default 12M rows; the run is built once in OUT_DIR and reused).
 */
public final class BrowseBench {
    static final String HOOK = "blocks.2.hook_resid_post";
    static final int WIDTH = 16384;

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "target/browse-bench");
        long rowsWanted = args.length > 1 ? Long.parseLong(args[1]) : 12_000_000;
        Path model = Fixtures.file("tiny-a/tiny-a-f32.gguf");
        Path run = out.resolve("run");
        if (!Files.isRegularFile(run.resolve("run.json"))) {
            Path saeDir = out.resolve("sae-16k");
            double l0 = writeSae(model, saeDir, 48);
            System.out.printf(Locale.ROOT, "synthetic 16k SAE fires %.1f features per token on tiny-a%n", l0);
            long tokens = (long) Math.ceil(rowsWanted / l0 / 1024) * 1024;
            long t0 = System.nanoTime();
            try (Model m = Model.load(model); Sae sae = Sae.load(saeDir, HOOK, m.backend())) {
                IndexJob job = new IndexJob(m, model.toString(), List.of(new IndexJob.RunSae(sae, saeDir.toString())),
                        new IndexJob.CorpusId("random-tokens-" + tokens, "0".repeat(64)), run, IndexOptions.defaults());
                IndexResult r = CorpusIndexer.index(job, documents(tokens), IndexProgress.NONE);
                System.out.printf(Locale.ROOT, "indexed %,d tokens into %,d activation rows (%,d shard bytes) in %.1f s%n",
                        r.tokens(), r.activeRows(), r.shardBytes(), (System.nanoTime() - t0) / 1e9);
            }
        }
        try (LoupeServer server = LoupeServer.start(ServerOptions.of(run).withAddress("127.0.0.1", 0).withThreads(2).withLimits(Limits.defaults()))) {
            String base = server.url();
            HttpClient client = HttpClient.newHttpClient();
            SplittableRandom rnd = new SplittableRandom(11);
            // Warm-up: JIT and the page cache (the "warm" in the target).
            for (int i = 0; i < 30; i++) {
                get(client, base + "api/features?sort=density&order=desc&limit=50&offset=" + rnd.nextInt(1000));
                get(client, base + "api/features/" + rnd.nextInt(WIDTH) + "?context=8");
                get(client, base + "api/features?q=" + (char) ('a' + rnd.nextInt(26)) + "&limit=50");
            }
            report("feature list (sort by density, 50 rows)", client, i -> base + "api/features?sort=density&order=desc&limit=50&offset=" + (i * 50 % 8000));
            report("feature list (sort by max activation, hide dead)", client, i -> base + "api/features?sort=max_activation&order=desc&hide_dead=true&limit=50&offset=" + (i * 50 % 8000));
            report("feature card with examples (context 8)", client, i -> base + "api/features/" + ((i * 7919) % WIDTH) + "?context=8");
            report("  of which: examples alone", client, i -> base + "api/features/" + ((i * 7919 + 13) % WIDTH) + "/examples?context=8");
            report("  of which: summary alone", client, i -> base + "api/features/" + ((i * 7919 + 29) % WIDTH) + "/summary");
            report("search: features promoting a token (q)", client, i -> base + "api/features?q=" + (char) ('a' + i % 26) + "&limit=50");
            report("decoder neighbours (k=10)", client, i -> base + "api/features/" + ((i * 104729) % WIDTH) + "/neighbours?k=10");
            System.gc();
            var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            System.out.printf(Locale.ROOT, "heap in use after GC: %.1f MiB (max %.0f MiB)%n", heap.getUsed() / 1048576.0, heap.getMax() / 1048576.0);
        }
    }

    /**
     * A random 16k-wide JumpReLU SAE for tiny-a's layer-2 residual: unit-norm Gaussian decoder rows, {@code W_enc =
     * W_decᵀ}, and one threshold chosen from the pre-activations of a sample document so that about
     * {@code targetL0} features fire per token (the residual's scale is the model's, not a standard normal's).
     * Returns the L0 measured on a second document.
     */
    static double writeSae(Path model, Path dir, int targetL0) throws IOException {
        int d = 64;
        float[] dec = new float[WIDTH * d];
        for (int f = 0; f < WIDTH; f++) {
            SplittableRandom r = new SplittableRandom(7L * 1_000_003 + f);
            double norm = 0;
            for (int i = 0; i < d; i++) norm += Math.pow(dec[f * d + i] = (float) r.nextGaussian(), 2);
            for (int i = 0; i < d; i++) dec[f * d + i] /= (float) Math.sqrt(norm);
        }
        write(dir, dec, Float.MAX_VALUE);   // no feature fires yet: only the pre-activations are wanted
        Iterator<Document> docs = documents(2 * 1024);
        int[] sample = docs.next().tokens(), check = docs.next().tokens();
        float threshold;
        try (Model m = Model.load(model); Sae sae = Sae.load(dir, HOOK, m.backend())) {
            var act = m.activation(sample, HOOK);
            float[] pre = sae.preActivations(java.util.Arrays.copyOfRange(act.data(), d, act.data().length), sample.length - 1);
            float[] sorted = pre.clone();
            Arrays.sort(sorted);
            threshold = sorted[(int) (sorted.length * (1 - (double) targetL0 / WIDTH))];
        }
        write(dir, dec, threshold);
        try (Model m = Model.load(model); Sae sae = Sae.load(dir, HOOK, m.backend())) {
            var f = sae.encode(m.activation(check, HOOK));
            long active = 0;
            for (int p = 1; p < check.length; p++) active += f.l0(p);
            return (double) active / (check.length - 1);
        }
    }

    private static void write(Path dir, float[] dec, float threshold) throws IOException {
        int d = 64;
        Files.createDirectories(dir);
        try (NpzWriter w = NpzWriter.create(dir.resolve("params.npz"))) {
            w.add("W_enc", new long[]{d, WIDTH}, (start, chunk, n) -> {
                for (int i = 0; i < n; i++) {
                    long idx = start + i;
                    chunk[i] = dec[(int) (idx % WIDTH) * d + (int) (idx / WIDTH)];
                }
            });
            w.add("W_dec", new long[]{WIDTH, d}, (start, chunk, n) -> System.arraycopy(dec, (int) start, chunk, 0, n));
            w.add("b_enc", new long[]{WIDTH}, (start, chunk, n) -> Arrays.fill(chunk, 0, n, 0f));
            w.add("b_dec", new long[]{d}, (start, chunk, n) -> Arrays.fill(chunk, 0, n, 0f));
            w.add("threshold", new long[]{WIDTH}, (start, chunk, n) -> Arrays.fill(chunk, 0, n, threshold));
            w.finish();
        }
    }

    interface Url {
        String at(int i);
    }

    static void report(String what, HttpClient client, Url url) throws Exception {
        int n = 60;
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            get(client, url.at(i));
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-50s median %7.1f ms   p95 %7.1f ms   max %7.1f ms%n", what, ms[n / 2], ms[(int) (n * 0.95)], ms[n - 1]);
    }

    static void get(HttpClient client, String url) throws IOException, InterruptedException {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IllegalStateException(url + " -> " + r.statusCode() + " " + r.body());
    }

    /** Random documents of 1023 token ids after <bos> (one 1024-token window each), ids from the tiny vocabulary. */
    static Iterator<Document> documents(long tokens) {
        List<Document> docs = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(2026);
        for (long done = 0, d = 0; done < tokens; d++) {
            int[] ids = new int[1024];
            ids[0] = 2;
            for (int i = 1; i < ids.length; i++) ids[i] = 4 + rnd.nextInt(380);
            docs.add(Document.tokens("random:" + d, ids));
            done += ids.length;
        }
        return docs.iterator();
    }
}
