package dev.loupe.model.cpu;

/**
 * Reusable float buffers for the blocked kernels: a few per slot (each thread of a job has its own) and one
 * shared by all slots. Buffers only grow, so steady-state kernel calls allocate nothing. Not thread-safe:
 * the owner guarantees one kernel call at a time, and slots keep concurrent pieces apart.
 */
final class Scratch {
    /** Per-slot buffers; the index says what the kernel uses it for. */
    static final int WEIGHTS = 0, ACCUMULATORS = 1, ROWS = 2;
    private static final int KINDS = 3;

    private final float[][][] perSlot;
    private float[][] shared = {new float[0]};

    Scratch(int slots) {
        perSlot = new float[slots][KINDS][];
        for (float[][] s : perSlot) for (int k = 0; k < KINDS; k++) s[k] = new float[0];
    }

    int slots() { return perSlot.length; }

    /** A buffer of at least {@code size} floats for {@code slot}; contents are unspecified. */
    float[] slot(int slot, int kind, int size) {
        float[] b = perSlot[slot][kind];
        if (b.length < size) perSlot[slot][kind] = b = new float[size];
        return b;
    }

    /** The buffer all slots share (filled before a job, read during it); contents are unspecified. */
    float[] shared(int size) { return shared(0, size); }

    /** The {@code index}-th buffer all slots share, for jobs that prepare several inputs; contents are unspecified. */
    float[] shared(int index, int size) {
        if (index >= shared.length) {
            float[][] more = java.util.Arrays.copyOf(shared, index + 1);
            for (int i = shared.length; i <= index; i++) more[i] = new float[0];
            shared = more;
        }
        if (shared[index].length < size) shared[index] = new float[size];
        return shared[index];
    }
}
