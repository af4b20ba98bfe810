package dev.loupe.analysis;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The folder lock: exclusive, released on close and on kill -9 of its holder, and invisible to the run-folder checks. */
class RunLockTest {
    @TempDir Path tmp;

    @Test void exclusiveInOneJvmAndFreedOnClose() throws Exception {
        Path dir = tmp.resolve("run");
        try (RunLock lock = RunLock.acquire(dir)) {
            assertEquals(dir, lock.folder());
            assertTrue(Files.isRegularFile(dir.resolve(RunLock.FILE)));
            assertTrue(RunLock.tryAcquire(dir).isEmpty(), "a second claim in the same JVM is refused");
            RunLock.HeldException e = assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(dir));
            assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve(RunLock.FILE)), "closing deletes the lock file");
        try (RunLock again = RunLock.acquire(dir)) {
            assertTrue(Files.exists(dir.resolve(RunLock.FILE)));
        }
    }

    /** A holder killed with SIGKILL runs no cleanup: the kernel's release is what frees the folder. */
    @Test void killNineReleasesIt() throws Exception {
        Path dir = tmp.resolve("run");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("locked", out.readLine());
            RunLock.HeldException e = assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(dir));
            assertTrue(e.getMessage().contains("pid " + child.pid()), e.getMessage());
            child.destroyForcibly();   // SIGKILL on Linux
            assertTrue(child.waitFor(20, TimeUnit.SECONDS));
        }
        assertTrue(Files.exists(dir.resolve(RunLock.FILE)), "a killed holder leaves its file behind");
        try (RunLock lock = RunLock.acquire(dir)) {
            assertTrue(Files.readString(dir.resolve(RunLock.FILE)).startsWith("pid " + ProcessHandle.current().pid()));
        }
    }

    /** Many claimants racing over one folder: never two holders at once. */
    @Test void racingClaimsNeverOverlap() throws Exception {
        Path dir = tmp.resolve("run");
        java.util.concurrent.atomic.AtomicInteger holders = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger overlaps = new java.util.concurrent.atomic.AtomicInteger();
        List<Thread> threads = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 200; i++) {
                    try {
                        var l = RunLock.tryAcquire(dir);
                        if (l.isEmpty()) continue;
                        if (holders.incrementAndGet() > 1) overlaps.incrementAndGet();
                        holders.decrementAndGet();
                        l.get().close();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        assertEquals(0, overlaps.get());
    }

    /**
     * A folder that holds only a lock file (left behind by a holder killed with SIGKILL, whose lock the kernel
     * released) is still an empty folder to the indexer, which takes the lock itself.
     */
    @Test void indexerTreatsLockedEmptyFolderAsEmpty() throws Exception {
        Path dir = tmp.resolve("run");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(RunLock.FILE), "pid 1 on a killed host\n");
        try (var model = TinyA.model(); var sae = TinyA.sae(model, TinyA.HOOK)) {
            Path corpus = TinyA.writeText(tmp);
            IndexResult r = TinyA.index(model, List.of(sae), corpus, dir, IndexOptions.defaults().withContext(16).withLogitTables(false));
            assertTrue(r.tokens() > 0);
        }
    }

    /** Holds a lock until killed. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            RunLock.acquire(Path.of(args[0]));
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(120_000);
        }
    }
}
