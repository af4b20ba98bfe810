package dev.loupe.model.cpu;

import dev.loupe.errors.BadInputException;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed set of daemon worker threads that split index ranges with the calling thread, which takes part
 * (slot 0; workers are slots 1..n−1). Pieces are claimed dynamically, so a worker descheduled by a busy
 * machine only delays the pieces it already holds. After a job, workers spin for a short while, because jobs
 * arrive microseconds apart during a forward pass, and then park.
 *
 * <p>One job runs at a time: {@link #run} holds {@link #lock()} (callers may hold it across several jobs).
 * A call made from inside a running job, by a worker or by the calling thread, runs inline on that thread.
 */
final class WorkerPool implements Parallel, AutoCloseable {
    private static final long SPIN_NANOS = 50_000;

    private static final class Job {
        final RangeTask task;
        final int count;
        final int grain;
        final AtomicLong next = new AtomicLong();
        volatile Throwable failure;

        Job(RangeTask task, int count, int grain) {
            this.task = task;
            this.count = count;
            this.grain = grain;
        }

        void drain(int slot) {
            while (true) {
                long start = next.getAndAdd(grain);
                if (start >= count) return;
                try {
                    task.run((int) start, (int) Math.min(count, start + grain), slot);
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                    next.set(count);
                    return;
                }
            }
        }
    }

    private final class Worker extends Thread {
        final int slot;

        Worker(int slot) {
            super("loupe-cpu-" + slot);
            this.slot = slot;
            setDaemon(true);
        }

        WorkerPool pool() { return WorkerPool.this; }

        @Override
        public void run() { work(slot); }
    }

    private final Worker[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger busy = new AtomicInteger();
    private final AtomicIntegerArray parked;
    private volatile Job current;
    private volatile Thread runner;
    private volatile boolean closed;

    WorkerPool(int threads) {
        if (threads < 1) throw new BadInputException("threads must be at least 1, got " + threads);
        workers = new Worker[threads - 1];
        parked = new AtomicIntegerArray(threads);
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].start();
        }
    }

    @Override
    public int slots() { return workers.length + 1; }

    /** Whether the current thread is executing a job of this pool (as a worker or as its caller). */
    boolean isInside() {
        Thread me = Thread.currentThread();
        return me == runner || (me instanceof Worker w && w.pool() == this);
    }

    /** Whether every worker may read {@code segment} (false for a segment confined to another thread). */
    boolean canRead(MemorySegment segment) {
        return workers.length == 0 || segment.isAccessibleBy(workers[0]);
    }

    void lock() {
        if (closed) throw new IllegalStateException("the CPU backend is closed");
        lock.lock();
    }

    void unlock() { lock.unlock(); }

    @Override
    public void run(int count, int grain, RangeTask task) {
        if (count <= 0) return;
        int g = Math.max(1, grain);
        Thread me = Thread.currentThread();
        if (me == runner) {
            task.run(0, count, 0);
            return;
        }
        if (me instanceof Worker w && w.pool() == this) {
            task.run(0, count, w.slot);
            return;
        }
        lock();
        try {
            if (workers.length == 0 || count <= g) {
                runner = me;
                task.run(0, count, 0);
                return;
            }
            Job job = new Job(task, count, g);
            runner = me;
            current = job;
            for (int i = 0; i < workers.length; i++) {
                if (parked.get(workers[i].slot) != 0) LockSupport.unpark(workers[i]);
            }
            job.drain(0);
            awaitWorkers();
            current = null;
            Throwable failure = job.failure;
            if (failure instanceof RuntimeException e) throw e;
            if (failure instanceof Error e) throw e;
            if (failure != null) throw new IllegalStateException(failure);
        } finally {
            runner = null;
            lock.unlock();
        }
    }

    private void awaitWorkers() {
        int spins = 0;
        while (busy.get() != 0) {
            if (++spins < 1 << 14) Thread.onSpinWait();
            else Thread.yield();
        }
    }

    private void work(int slot) {
        Job last = null;
        while (true) {
            Job job = current;
            if (job != last) {
                last = job;
                if (job != null) {
                    busy.incrementAndGet();
                    try {
                        job.drain(slot);
                    } finally {
                        busy.decrementAndGet();
                    }
                }
                continue;
            }
            if (closed) return;
            if (!spinWhile(last)) {
                parked.set(slot, 1);
                if (current == last && !closed) LockSupport.park(this);
                parked.set(slot, 0);
            }
        }
    }

    /** Spins while {@code current} is still {@code last}; false if the spin budget ran out first. */
    private boolean spinWhile(Job last) {
        long deadline = System.nanoTime() + SPIN_NANOS;
        int n = 0;
        while (current == last && !closed) {
            Thread.onSpinWait();
            if ((++n & 63) == 0 && System.nanoTime() > deadline) return false;
        }
        return true;
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) LockSupport.unpark(w);
    }
}
