package dev.loupe.analysis;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Optional;

/**
 * An exclusive claim on a folder, so that two writers (two {@code loupe index} processes, or two attempts of one
 * Spark partition) never write the same files. It is an OS file lock on {@code FOLDER/.lock}: the kernel releases
 * it when the holder dies, {@code kill -9} included, so a crashed writer never leaves a stale claim behind, and no
 * timeout or heartbeat is needed. The lock file names its holder (pid and host) for the message a second writer gets.
 *
 * <p>Closing deletes the file and then releases the lock. A writer that opened the file just before it was deleted
 * could otherwise lock the deleted file while a third locks a new one; {@link #tryAcquire} therefore checks, once
 * it holds the lock, that the path still names the file it opened, and starts over if not.
 *
 * <p>Within one JVM the lock is exclusive too (a second claim on a folder this JVM holds is refused). Network file
 * systems honour it only where they implement POSIX locks (NFSv4 does; some FUSE file systems do not).
 */
public final class RunLock implements AutoCloseable {
    /** The lock file's name inside the folder; a run folder that holds only this file counts as empty. */
    public static final String FILE = ".lock";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    private RunLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** Someone else holds the folder. */
    public static final class HeldException extends IOException {
        private final Path folder;

        HeldException(Path folder, String holder) {
            super(folder + " is being written by another process" + (holder.isBlank() ? "" : " (" + holder + ")")
                    + "; wait for it to finish or stop it first");
            this.folder = folder;
        }

        public Path folder() { return folder; }
    }

    /** Claims {@code folder} (created if missing), or fails with {@link HeldException} naming the holder. */
    public static RunLock acquire(Path folder) throws IOException {
        Optional<RunLock> l = tryAcquire(folder);
        if (l.isEmpty()) throw new HeldException(folder, holder(folder));
        return l.get();
    }

    /** Claims {@code folder} (created if missing) when nobody holds it; empty when somebody does. */
    public static Optional<RunLock> tryAcquire(Path folder) throws IOException {
        Objects.requireNonNull(folder, "folder");
        Files.createDirectories(folder);
        Path file = folder.resolve(FILE);
        while (true) {
            // The key read before and after opening tells which file the channel has (FileChannel hides its inode):
            // equal keys mean nobody replaced the file around our open.
            Object before = key(file);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                Object opened = key(file);
                if (before == null || !before.equals(opened)) {
                    ch.close();
                    continue;
                }
                try {
                    lock = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;   // this JVM already holds it
                }
                if (lock == null) {
                    ch.close();
                    return Optional.empty();
                }
                if (!opened.equals(key(file))) {
                    // The holder deleted the file between our open and our lock: ours is a lock on nothing. Retry.
                    lock.release();
                    ch.close();
                    continue;
                }
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + " on " + host() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            return Optional.of(new RunLock(file, ch, lock));
        }
    }

    /** The folder this lock claims. */
    public Path folder() { return file.getParent(); }

    /** The file's identity (device and inode on Linux), or null when it does not exist. */
    private static Object key(Path file) throws IOException {
        try {
            Object k = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            // A file system without file keys: fall back to the creation time, which a re-created file changes.
            return k != null ? k : Files.readAttributes(file, BasicFileAttributes.class).creationTime();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static String holder(Path folder) {
        try {
            return Files.readString(folder.resolve(FILE), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown host";
        }
    }

    /** Releases the claim and deletes the lock file. Idempotent. */
    @Override public void close() throws IOException {
        if (closed) return;
        closed = true;
        try {
            // Delete while still holding the lock: whoever locks the old file next sees it is gone and retries.
            Files.deleteIfExists(file);
        } finally {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }
}
