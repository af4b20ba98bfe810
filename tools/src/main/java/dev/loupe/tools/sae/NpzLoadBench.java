package dev.loupe.tools.sae;

import dev.loupe.sae.io.NpzFile;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Load time of a Gemma-Scope-shaped params.npz, which is dominated by the CRC-32 check of its stored entries
 * (opening maps the file; {@link NpzFile#array} checks each entry once). Writes the SAE first if the folder
 * has none. Usage, after {@code mvn -B -ntp -DskipTests package}: {@code java @bin/jvm.args -cp 'cli/target/lib/*'
 * dev.loupe.tools.sae.NpzLoadBench D_MODEL WIDTH DIR}; numbers in BENCHMARKS.md ("Weight files").
 */
public final class NpzLoadBench {
    private NpzLoadBench() {}

    public static void main(String[] args) throws Exception {
        int dModel = Integer.parseInt(args[0]), width = Integer.parseInt(args[1]);
        Path dir = Path.of(args[2]);
        Path file = Files.exists(dir.resolve("params.npz")) ? dir.resolve("params.npz") : SyntheticSae.write(dir, dModel, width, 70, 0);
        long bytes = Files.size(file);
        for (int round = 0; round < 4; round++) {
            long t0 = System.nanoTime();
            try (NpzFile npz = NpzFile.open(file)) {
                long t1 = System.nanoTime();
                for (String name : npz.names()) npz.array(name);
                long t2 = System.nanoTime();
                System.out.printf("%d MB: open %.3f s, every array (CRC-32 of each stored entry) %.3f s = %.2f GB/s%n",
                        bytes >> 20, (t1 - t0) / 1e9, (t2 - t1) / 1e9, bytes / ((t2 - t1) / 1e9) / 1e9);
            }
        }
    }
}
