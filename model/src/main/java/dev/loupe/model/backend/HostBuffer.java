package dev.loupe.model.backend;

/** An {@link ActivationBuffer} on the Java heap: the array itself, moved to and from "the host" without copies. */
public final class HostBuffer implements ActivationBuffer {
    private final float[] data;

    public HostBuffer(int size) { this.data = new float[size]; }

    public HostBuffer(float[] data) { this.data = data; }

    /** The backing array (for heap backends' kernels). */
    public float[] array() { return data; }

    @Override public int size() { return data.length; }

    @Override public float[] toHost() { return data; }

    @Override
    public void fromHost(float[] values) {
        if (values == data) return;
        if (values.length != data.length) {
            throw new IllegalArgumentException("buffer holds " + data.length + " floats, got " + values.length);
        }
        System.arraycopy(values, 0, data, 0, data.length);
    }
}
