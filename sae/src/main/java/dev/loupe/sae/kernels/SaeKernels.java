package dev.loupe.sae.kernels;

import dev.loupe.model.backend.ActivationBuffer;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.tensor.WeightTensor;

import java.util.ServiceLoader;

/**
 * The SAE operations a backend runs: sparse encode, the activation function alone, sparse decode. The sae module owns
 * them (a new SAE architecture touches only this module); {@link #of} finds a backend's own implementation through
 * {@link SaeKernelsProvider} (the TornadoVM module registers one) and otherwise uses the Vector API one on the CPU,
 * over the backend's heap products.
 */
public interface SaeKernels {

    /**
     * Encodes {@code rows} rows of {@code x} ({@code dIn} wide, already preprocessed) and reports the active features
     * to {@code sink}. {@code pre} ({@code rows·dSae} floats, allocated on the backend) is working space for the dense
     * pre-activations; on a device they never leave it.
     */
    void encodeSparse(SaeEncoding e, ActivationBuffer x, int rows, ActivationBuffer pre, FeatureSink sink);

    /**
     * The activation function alone: adds {@code bias} (unless empty) to each of {@code rows} rows of {@code pre}
     * ({@code dSae} wide, on the heap) in place and reports the active features to {@code sink}.
     */
    void activateSparse(SaeActivation activation, float[] pre, int rows, int dSae, float[] bias, FeatureSink sink);

    /**
     * {@code out[r] = (Σ_i coef_i · W_dec[id_i] + bias) · outScale} for every row of {@code f}, {@code W_dec} being
     * {@code [dSae, dIn]}; {@code out} is {@code [rows, dIn]} on the heap.
     */
    void decodeSparse(WeightTensor decoder, SparseRows f, float[] bias, float outScale, float[] out);

    /** The kernels for {@code backend}: its own where a provider offers them, else the CPU ones over its heap products. */
    static SaeKernels of(Backend backend) {
        for (SaeKernelsProvider p : ServiceLoader.load(SaeKernelsProvider.class)) {
            SaeKernels k = p.kernelsFor(backend);
            if (k != null) return k;
        }
        return new CpuSaeKernels(backend);
    }
}
