package dev.loupe.model.cpu;

/**
 * Where a kernel's pieces run: on the backend's worker pool, or all on the calling thread (for calls made from
 * inside a pool task). Each piece learns its slot, which indexes the per-thread scratch buffers; no two pieces
 * with the same slot run at the same time.
 */
interface Parallel {

    /** One piece of work: indices {@code [start, end)} on slot {@code slot}. */
    @FunctionalInterface
    interface RangeTask {
        void run(int start, int end, int slot);
    }

    /** Runs {@code task} over {@code [0, count)} in pieces of at most {@code grain} indices; returns when all are done. */
    void run(int count, int grain, RangeTask task);

    /** Number of distinct slots {@link #run} may pass. */
    int slots();

    Parallel INLINE = new Parallel() {
        @Override
        public void run(int count, int grain, RangeTask task) {
            if (count > 0) task.run(0, count, 0);
        }

        @Override
        public int slots() { return 1; }
    };
}
