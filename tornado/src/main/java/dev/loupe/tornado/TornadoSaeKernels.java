package dev.loupe.tornado;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;
import dev.loupe.sae.kernels.CpuSaeKernels;
import dev.loupe.sae.kernels.FeatureSink;
import dev.loupe.sae.kernels.SaeActivation;
import dev.loupe.sae.kernels.SaeEncoding;
import dev.loupe.sae.kernels.SaeKernels;
import dev.loupe.sae.kernels.SaeKernelsProvider;
import dev.loupe.sae.kernels.SparseRows;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The sae module's kernels on a {@link TornadoBackend}: each encoder gets a device plan of its own ({@link SaeProgram}:
 * {@code W_enc} uploaded once, {@code x·W_enc + b}, the JumpReLU and a per-row compaction on the device, so only the
 * active features come back). TopK selection and the sparse decode run on the backend's CPU host. The programs close
 * with the backend.
 */
final class TornadoSaeKernels implements SaeKernels, AutoCloseable {
    private final TornadoBackend backend;
    private final SaeKernels host;
    private final Map<WeightTensor, SaeProgram> programs = new IdentityHashMap<>();

    TornadoSaeKernels(TornadoBackend backend) {
        this.backend = backend;
        this.host = new CpuSaeKernels(backend.host());
        backend.attach(this);
    }

    /** Registered in META-INF/services: offers these kernels for TornadoVM backends. */
    public static final class Provider implements SaeKernelsProvider {
        @Override
        public SaeKernels kernelsFor(Backend backend) {
            return backend instanceof TornadoBackend t ? new TornadoSaeKernels(t) : null;
        }
    }

    @Override
    public void encodeSparse(SaeEncoding e, ActivationBuffer x, int rows, ActivationBuffer pre, FeatureSink sink) {
        synchronized (backend) {
            SaeProgram p = programs.get(e.encoder());
            int capacity = Math.max(rows, pre.size() / e.dSae());
            if (p == null || !p.fits(e, capacity)) {
                if (p != null) p.close();
                p = new SaeProgram(e, capacity, backend.profiling());
                programs.put(e.encoder(), p);
            }
            p.encode(x.toHost(), rows, sink, host);
            backend.count(p.takeKernelNanos());
        }
    }

    @Override
    public void activateSparse(SaeActivation activation, float[] pre, int rows, int dSae, float[] bias, FeatureSink sink) {
        host.activateSparse(activation, pre, rows, dSae, bias, sink);
    }

    @Override
    public void decodeSparse(WeightTensor decoder, SparseRows f, float[] bias, float outScale, float[] out) {
        host.decodeSparse(decoder, f, bias, outScale, out);
    }

    @Override
    public void close() {
        synchronized (backend) {
            for (SaeProgram p : programs.values()) p.close();
            programs.clear();
        }
    }
}
