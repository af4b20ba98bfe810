package dev.loupe.web;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission for heavy work (forward passes): at most {@code concurrency} jobs run and at most {@code capacity}
 * wait; a request beyond that is refused at once with 429 rather than queued without bound. The job runs on
 * the request's own thread (so a streaming response writes as it computes); waiting is bounded by the
 * request's deadline.
 */
final class WorkQueue {
    private final Semaphore running;
    private final int concurrency;
    private final int capacity;
    private final AtomicInteger admitted = new AtomicInteger();
    private final Duration typicalJob;
    /** How often a waiting request looks whether its client is still there. */
    private static final long POLL_NANOS = 200_000_000L;

    WorkQueue(int concurrency, int capacity, Duration typicalJob) {
        this.running = new Semaphore(concurrency, true);
        this.concurrency = concurrency;
        this.capacity = capacity;
        this.typicalJob = typicalJob;
    }

    /** A held slot; closing it frees the slot for the next waiting job. */
    interface Slot extends AutoCloseable {
        @Override void close();
    }

    /**
     * Waits for a slot until {@code deadlineNanos} ({@link System#nanoTime()} scale).
     *
     * @throws ApiException 429 when the queue is full, 408 when the deadline passes while waiting
     */
    Slot acquire(long deadlineNanos) { return acquire(deadlineNanos, () -> false); }

    /**
     * As {@link #acquire(long)}, giving up (with {@link SseStream.ClientGone}) when {@code clientGone} says the
     * client has left, so that abandoned requests do not hold places in the queue.
     */
    Slot acquire(long deadlineNanos, java.util.function.BooleanSupplier clientGone) {
        int n = admitted.incrementAndGet();
        if (n > concurrency + capacity) {
            admitted.decrementAndGet();
            throw ApiException.busy("the server is busy: " + concurrency + " request(s) running and " + capacity
                    + " waiting; retry after " + retryAfterSeconds() + " s", retryAfterSeconds());
        }
        boolean got = false, left = false;
        try {
            while (!got) {
                long wait = deadlineNanos - System.nanoTime();
                if (wait <= 0) break;
                got = running.tryAcquire(Math.min(wait, POLL_NANOS), TimeUnit.NANOSECONDS);
                if (!got && clientGone.getAsBoolean()) {
                    left = true;
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (!got) admitted.decrementAndGet();
        }
        if (left) throw new SseStream.ClientGone(null);
        if (!got) throw ApiException.timeout("the request waited past its time limit for a free slot; retry later");
        return new Slot() {
            private boolean closed;

            @Override public void close() {
                if (closed) return;
                closed = true;
                running.release();
                admitted.decrementAndGet();
            }
        };
    }

    /** Jobs running or waiting now. */
    int load() { return admitted.get(); }

    int concurrency() { return concurrency; }

    int capacity() { return capacity; }

    /** A hint for clients: how long until a slot is likely free, at least one second. */
    int retryAfterSeconds() { return (int) Math.max(1, Math.min(60, typicalJob.toSeconds())); }
}
