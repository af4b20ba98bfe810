package dev.loupe.tornado;

import dev.loupe.model.backend.ActivationBuffer;

/**
 * An activation buffer of the TornadoVM backend: a region of the device arena, claimed on first device use, and a
 * host mirror made on first host use. Flags say which side holds the newer values; each side is brought up to date
 * only when it is read, so a buffer that no hook looks at never crosses the bus. Its region goes back to the arena
 * when {@link #release()} is called, not when the object is collected.
 *
 * <p>A buffer reads as zeros until written ({@link dev.loupe.model.backend.Backend#allocate}), but its region is
 * zeroed on the device only when a kernel reads it, or writes only part of it, before anything wrote the whole:
 * the buffers of a forward pass are overwritten whole by their first kernel, so a generation step launches no zeroing.
 */
final class DeviceBuffer implements ActivationBuffer {
    private final TornadoBackend owner;
    private final int size;
    /** The arena offset; -1 before the first device use, {@link #RELEASED} after {@link #release()}. */
    private int offset = -1;
    private static final int RELEASED = -2;
    private float[] host;
    private boolean hostNewer;
    private boolean deviceNewer;
    /** Claimed, but the region still holds whatever its previous owner left: zeros are owed. */
    private boolean unzeroed;

    DeviceBuffer(TornadoBackend owner, int size) {
        this.owner = owner;
        this.size = size;
    }

    @Override public int size() { return size; }

    @Override
    public float[] toHost() {
        live();
        if (host == null) host = new float[size];
        if (deviceNewer) {
            owner.download(offset, host);
            deviceNewer = false;
        }
        return host;
    }

    @Override
    public void fromHost(float[] data) {
        if (data.length != size) throw new IllegalArgumentException("buffer holds " + size + " floats, got " + data.length);
        if (host == null) host = new float[size];
        if (data != host) System.arraycopy(data, 0, host, 0, size);
        hostNewer = true;
        deviceNewer = false;
    }

    private void live() {
        if (offset == RELEASED) throw new IllegalStateException("TornadoVM backend: a buffer was used after release()");
    }

    /** The arena offset for a kernel that reads this buffer: claimed, zeroed if nothing wrote it, newer host values sent. */
    int read() {
        live();
        if (offset < 0) {
            offset = owner.claim(size);
            unzeroed = true;
        }
        if (hostNewer) {
            // the host copy starts as zeros, so sending it also pays the zeros owed
            owner.upload(host, offset);
            hostNewer = false;
            unzeroed = false;
        }
        if (unzeroed) {
            owner.zero(offset, size);
            unzeroed = false;
        }
        return offset;
    }

    /** The arena offset for a kernel that reads this buffer and writes it (in place). */
    int update() {
        int at = read();
        deviceNewer = true;
        return at;
    }

    /** The arena offset for a kernel that writes {@code count} values from {@code from} without reading the rest. */
    int write(int from, int count) {
        if (from > 0 || count < size) return update();
        // overwritten whole: no zeros owed, and newer host values are superseded
        live();
        if (offset < 0) offset = owner.claim(size);
        unzeroed = false;
        hostNewer = false;
        deviceNewer = true;
        return offset;
    }

    /** {@link #write(int, int)} of the whole buffer. */
    int write() { return write(0, size); }

    @Override
    public void release() {
        if (offset >= 0) owner.release(offset, size);
        offset = RELEASED;
        host = null;
    }
}
