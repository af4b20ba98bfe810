package dev.loupe.tornado;

import dev.loupe.model.backend.ActivationBuffer;

/**
 * An activation buffer of the TornadoVM backend: a region of the device arena, claimed on first device use, and a
 * host mirror made on first host use. Flags say which side holds the newer values; each side is brought up to date
 * only when it is read, so a buffer that no hook looks at never crosses the bus. Its region goes back to the arena
 * when {@link #release()} is called, not when the object is collected.
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

    DeviceBuffer(TornadoBackend owner, int size) {
        this.owner = owner;
        this.size = size;
    }

    @Override public int size() { return size; }

    @Override
    public float[] toHost() {
        if (offset == RELEASED) throw new IllegalStateException("TornadoVM backend: a buffer was used after release()");
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

    /** The arena offset, the region claimed (zeroed) and any newer host values uploaded first: for a kernel to read. */
    int onDevice() {
        if (offset == RELEASED) throw new IllegalStateException("TornadoVM backend: a buffer was used after release()");
        if (offset < 0) offset = owner.claim(size);
        if (hostNewer) {
            owner.upload(host, offset);
            hostNewer = false;
        }
        return offset;
    }

    @Override
    public void release() {
        if (offset >= 0) owner.release(offset, size);
        offset = RELEASED;
        host = null;
    }

    /** Marks the device copy as newer after a kernel wrote this buffer; returns the offset. */
    int written() {
        int at = onDevice();
        deviceNewer = true;
        return at;
    }
}
