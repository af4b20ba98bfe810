package dev.loupe.sae.train;

/**
 * SAELens's shuffled activation buffer: activations arrive in corpus order (neighbouring tokens of one document
 * are strongly correlated), so batches are drawn at random from a buffer of many documents' rows, and the buffer is
 * topped up from the source whenever it falls to half full.
 */
final class MixingBuffer {
    private final ActivationSource source;
    private final int width, capacity;
    private final float[] data;
    private final int[] filled, free;
    private int filledCount, freeCount;
    private boolean exhausted;
    private long random;
    private float[] incoming = new float[0];

    MixingBuffer(ActivationSource source, int capacity, long seed) {
        this.source = source;
        this.width = source.width();
        this.capacity = capacity;
        this.data = new float[Math.multiplyExact(capacity, width)];
        this.filled = new int[capacity];
        this.free = new int[capacity];
        for (int i = 0; i < capacity; i++) free[i] = capacity - 1 - i;
        this.freeCount = capacity;
        this.random = seed;
    }

    /** Copies up to {@code maxRows} randomly drawn rows into {@code dst}; returns how many (0 once all are used). */
    int next(float[] dst, int maxRows) {
        if (filledCount < Math.max(maxRows, capacity / 2) && !exhausted) refill();
        int n = Math.min(maxRows, filledCount);
        for (int i = 0; i < n; i++) {
            int j = (int) Long.remainderUnsigned(nextLong(), filledCount);
            int slot = filled[j];
            filled[j] = filled[--filledCount];
            System.arraycopy(data, slot * width, dst, i * width, width);
            free[freeCount++] = slot;
        }
        return n;
    }

    long randomState() { return random; }

    void restoreRandomState(long state) { random = state; }

    private void refill() {
        while (freeCount > 0 && !exhausted) {
            int want = Math.min(freeCount, 1024);
            if (incoming.length < want * width) incoming = new float[want * width];
            int got = source.read(incoming, 0, want);
            if (got == 0) {
                exhausted = true;
                break;
            }
            for (int i = 0; i < got; i++) {
                int slot = free[--freeCount];
                System.arraycopy(incoming, i * width, data, slot * width, width);
                filled[filledCount++] = slot;
            }
        }
    }

    /** SplitMix64: a generator whose whole state is one long, so a checkpoint can hold it. */
    private long nextLong() {
        long z = (random += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
