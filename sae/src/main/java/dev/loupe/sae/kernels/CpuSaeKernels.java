package dev.loupe.sae.kernels;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.DType;
import dev.loupe.model.tensor.WeightTensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.PriorityQueue;

/**
 * The SAE kernels on the CPU: the backend's blocked heap products for {@code x·W_enc}, then Vector API selection and
 * sparse decode, split across rows with the backend's threads. Buffers of a heap backend are their arrays, so
 * {@link ActivationBuffer#toHost()} costs nothing there.
 */
public final class CpuSaeKernels implements SaeKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Backend backend;

    public CpuSaeKernels(Backend backend) { this.backend = backend; }

    @Override
    public void encodeSparse(SaeEncoding e, ActivationBuffer x, int rows, ActivationBuffer pre, FeatureSink sink) {
        float[] in = x.toHost(), p = pre.toHost();
        if (e.transposed()) backend.matmul(e.encoder(), in, 0, rows, p, 0);
        else backend.matmulKn(e.encoder(), in, 0, rows, p, 0);
        activateSparse(e.activation(), p, rows, e.dSae(), e.bias(), sink);
    }

    @Override
    public void activateSparse(SaeActivation activation, float[] p, int rows, int dSae, float[] bias, FeatureSink sink) {
        backend.parallelFor(rows, r -> {
            int off = r * dSae;
            if (bias.length > 0) addBias(bias, p, off, dSae);
            switch (activation) {
                case SaeActivation.JumpRelu j -> collectAbove(p, off, dSae, j.threshold(), r, sink);
                case SaeActivation.TopK k -> collectTopK(p, off, dSae, k, r, sink);
            }
        });
    }

    @Override
    public void decodeSparse(WeightTensor decoder, SparseRows f, float[] bias, float outScale, float[] out) {
        int d = decoder.cols();
        backend.parallelFor(f.rows(), p -> {
            int off = p * d;
            float[] tmp = null;
            for (int i = f.offsets()[p]; i < f.offsets()[p + 1]; i++) {
                float a = f.coefficients()[i];
                int id = f.ids()[i];
                if (decoder.dtype() == DType.F32) {
                    axpy(a, decoder.data(), (long) id * d * 4, out, off, d);
                } else {
                    if (tmp == null) tmp = new float[d];
                    decoder.readRow(id, tmp, 0);
                    for (int j = 0; j < d; j++) out[off + j] += a * tmp[j];
                }
            }
            for (int i = 0; i < d; i++) out[off + i] = (out[off + i] + bias[i]) * outScale;
        });
    }

    private static void addBias(float[] bias, float[] p, int off, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, p, off + i).add(FloatVector.fromArray(S, bias, i)).intoArray(p, off + i);
        }
        for (; i < n; i++) p[off + i] += bias[i];
    }

    /** Reports features of row {@code row} with {@code pre > 0} and, when given, {@code pre > threshold}. */
    static void collectAbove(float[] pre, int off, int n, float[] threshold, int row, FeatureSink sink) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, pre, off + i);
            VectorMask<Float> m = v.compare(VectorOperators.GT, 0f);
            if (threshold != null) m = m.and(v.compare(VectorOperators.GT, FloatVector.fromArray(S, threshold, i)));
            if (m.anyTrue()) {
                long bits = m.toLong();
                while (bits != 0) {
                    int lane = Long.numberOfTrailingZeros(bits);
                    sink.add(row, i + lane, pre[off + i + lane]);
                    bits &= bits - 1;
                }
            }
        }
        for (; i < n; i++) {
            float v = pre[off + i];
            if (v > 0f && (threshold == null || v > threshold[i])) sink.add(row, i, v);
        }
    }

    private static void collectTopK(float[] pre, int off, int n, SaeActivation.TopK topK, int row, FeatureSink sink) {
        int k = topK.k();
        float[] norms = topK.norms();
        PriorityQueue<long[]> heap = new PriorityQueue<>(k, (p, q) -> Float.compare(Float.intBitsToFloat((int) p[0]), Float.intBitsToFloat((int) q[0])));
        for (int i = 0; i < n; i++) {
            float v = pre[off + i];
            if (norms != null) v *= norms[i];
            if (heap.size() < k) heap.add(new long[]{Float.floatToRawIntBits(v), i});
            else if (v > Float.intBitsToFloat((int) heap.peek()[0])) {
                heap.poll();
                heap.add(new long[]{Float.floatToRawIntBits(v), i});
            }
        }
        for (long[] e : heap) {
            float v = Float.intBitsToFloat((int) e[0]);
            if (v > 0f) sink.add(row, (int) e[1], v);
        }
    }

    /** {@code out[off..off+n) += a · w[byteOff..]} with w little-endian float32. */
    private static void axpy(float a, MemorySegment w, long byteOff, float[] out, int off, int n) {
        int i = 0;
        FloatVector av = FloatVector.broadcast(S, a);
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromMemorySegment(S, w, byteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(av, FloatVector.fromArray(S, out, off + i)).intoArray(out, off + i);
        }
        for (; i < n; i++) out[off + i] += a * w.get(F32, byteOff + 4L * i);
    }
}
