package dev.loupe.sae;

import dev.loupe.errors.BadInputException;
import dev.loupe.hooks.Activation;
import dev.loupe.model.backend.Backend;
import dev.loupe.model.backend.Backends;
import dev.loupe.sae.kernels.SaeKernels;
import dev.loupe.model.tensor.WeightTensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A sparse autoencoder: its configuration, its weights in stored precision ({@code W_enc}, {@code W_dec}
 * memory-mapped, never copied to the heap; the small vectors on the heap), and encode/decode.
 * {@link #encode} computes {@code x·W_enc} for all positions at once on the {@link Backend}; {@link #decode}
 * reads only the decoder rows of active features.
 *
 * <p>Instances made with {@link #withHook} or {@link #withBackend} share the mapped files; closing any of them
 * unmaps the files for all.
 */
public final class Sae implements AutoCloseable {
    private final SaeConfig config;
    private final WeightTensor encoder;
    private final boolean encoderTransposed;
    private final WeightTensor decoder;
    private final float[] bEnc, bDec, threshold, decoderNorms;
    private final Backend backend;
    private final SaeKernels kernels;
    private final AutoCloseable files;
    private final SaeEncoder enc;
    private final SaeDecoder dec;

    /**
     * @param encoder           {@code W_enc} as {@code [dIn, dSae]}, or with {@code encoderTransposed} as its
     *                          row-major transpose {@code [dSae, dIn]} (a Fortran-order {@code W_enc})
     * @param threshold         JumpReLU thresholds {@code [dSae]} (null for other architectures)
     * @param files             closed by {@link #close()} (the mapped archive), or null
     */
    public Sae(SaeConfig config, WeightTensor encoder, boolean encoderTransposed, WeightTensor decoder,
               float[] bEnc, float[] bDec, float[] threshold, Backend backend, AutoCloseable files) {
        this.config = config;
        String src = config.source();
        long dIn = config.dIn(), dSae = config.dSae();
        if (encoderTransposed) requireShape(encoder, src, "W_enc (stored transposed)", dSae, dIn);
        else requireShape(encoder, src, "W_enc", dIn, dSae);
        requireShape(decoder, src, "W_dec", dSae, dIn);
        requireLength(bEnc, src, "b_enc", dSae);
        requireLength(bDec, src, "b_dec", dIn);
        if (config.architecture() == SaeArchitecture.JUMPRELU) {
            if (threshold == null) throw new BadInputException(src + ": a JumpReLU SAE needs 'threshold' [" + dSae + "]");
            requireLength(threshold, src, "threshold", dSae);
        }
        this.encoder = encoder;
        this.encoderTransposed = encoderTransposed;
        this.decoder = decoder;
        this.bEnc = bEnc;
        this.bDec = bDec;
        this.threshold = threshold;
        this.backend = backend;
        this.kernels = SaeKernels.of(backend);
        this.files = files == null ? null : new SharedFiles(files);
        this.decoderNorms = config.rescaleActsByDecoderNorm() ? rowNorms(decoder) : null;
        this.enc = new SaeEncoder(this);
        this.dec = new SaeDecoder(this);
    }

    private Sae(Sae base, SaeConfig config, Backend backend) {
        this(base, config, backend, base.files);
    }

    private Sae(Sae base, SaeConfig config, Backend backend, AutoCloseable files) {
        this.config = config;
        this.encoder = base.encoder;
        this.encoderTransposed = base.encoderTransposed;
        this.decoder = base.decoder;
        this.bEnc = base.bEnc;
        this.bDec = base.bDec;
        this.threshold = base.threshold;
        this.decoderNorms = base.decoderNorms;
        this.backend = backend;
        this.kernels = backend == base.backend ? base.kernels : SaeKernels.of(backend);
        this.files = files;
        this.enc = new SaeEncoder(this);
        this.dec = new SaeDecoder(this);
    }

    /**
     * Loads a Gemma Scope folder ({@code params.npz}) or a SAELens folder ({@code cfg.json} +
     * {@code sae_weights.safetensors}) onto its own CPU backend (all cores), closed with the SAE. To share a
     * model's threads use {@link #load(Path, Backend)} with {@code model.backend()}.
     */
    public static Sae load(Path path) throws IOException { return load(path, (String) null); }

    /** As {@link #load(Path)}, attached at {@code hook} instead of the hook the folder names. */
    public static Sae load(Path path, String hook) throws IOException {
        Backend own = Backends.byName(Backends.CPU);
        try {
            Sae sae = SaeLoader.load(path, hook, own);
            AutoCloseable files = sae.files;
            return new Sae(sae, sae.config, own, new SharedFiles(() -> {
                try (own) {
                    if (files != null) files.close();
                }
            }));
        } catch (IOException | RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * Loads a Gemma Scope folder ({@code params.npz}) or a SAELens folder ({@code cfg.json} +
     * {@code sae_weights.safetensors}) computing on {@code backend}; the hook point comes from the folder or config.
     */
    public static Sae load(Path path, Backend backend) throws IOException {
        return SaeLoader.load(path, null, backend);
    }

    /** As {@link #load(Path, Backend)}, attached at {@code hook} instead of the hook the folder names. */
    public static Sae load(Path path, String hook, Backend backend) throws IOException {
        return SaeLoader.load(path, hook, backend);
    }

    public SaeConfig config() { return config; }

    /** The hook point this SAE reads; fails with a one-line message when it is unknown. */
    public String hookName() {
        if (config.hookName() == null) {
            throw new BadInputException(config.source() + ": the SAE's hook point is unknown (the path has no layer_N and no config names one); give it explicitly");
        }
        return config.hookName();
    }

    public boolean hasHookName() { return config.hookName() != null; }

    public int dIn() { return config.dIn(); }

    public int dSae() { return config.dSae(); }

    public SaeArchitecture architecture() { return config.architecture(); }

    public Backend backend() { return backend; }

    /** The encode/decode kernels on {@link #backend()}. */
    public SaeKernels kernels() { return kernels; }

    /** {@code W_enc} in stored precision: {@code [dIn, dSae]}, or {@code [dSae, dIn]} when {@link #encoderTransposed()}. */
    public WeightTensor encoderWeight() { return encoder; }

    public boolean encoderTransposed() { return encoderTransposed; }

    /** {@code W_dec [dSae, dIn]} in stored precision. */
    public WeightTensor decoderWeight() { return decoder; }

    public float[] bEnc() { return bEnc.clone(); }

    public float[] bDec() { return bDec.clone(); }

    /** JumpReLU thresholds, or null. */
    public float[] threshold() { return threshold == null ? null : threshold.clone(); }

    /** The same SAE read at another hook point. */
    public Sae withHook(String hook) { return new Sae(this, config.withHook(hook), backend); }

    /** The same SAE computing on another backend. */
    public Sae withBackend(Backend other) { return new Sae(this, config, other); }

    // ---- compute -----------------------------------------------------------------------------------

    /** Features of every position of a {@code [positions, dIn]} activation. */
    public SparseFeatures encode(Activation a) {
        requireWidth(a);
        return enc.encode(a.data(), 0, a.positions(), a.firstPosition());
    }

    /** Features of {@code rows} row-major input rows of width {@link #dIn()}. */
    public SparseFeatures encode(float[] x, int rows) {
        requireRows(x, rows);
        return enc.encode(x, 0, rows, 0);
    }

    /** Dense pre-activations {@code x·W_enc + b_enc}, {@code [rows, dSae]}. */
    public float[] preActivations(float[] x, int rows) {
        requireRows(x, rows);
        return enc.preActivations(x, 0, rows, null);
    }

    /** Reconstruction {@code [positions, dIn]} from sparse features. */
    public float[] decode(SparseFeatures f) { return dec.decode(f); }

    /** {@code decode(encode(x))}. */
    public float[] reconstruct(float[] x, int rows) { return decode(encode(x, rows)); }

    /**
     * The activation-space direction of one unit of feature {@code f}: {@code W_dec[f]} with the SAE's folded
     * scale factors (what adding {@code α} to the feature's activation adds to the reconstruction, as {@code α·direction}).
     */
    public float[] direction(int f) {
        if (f < 0 || f >= config.dSae()) {
            throw new BadInputException(config.source() + ": feature " + f + " out of range [0, " + config.dSae() + ")");
        }
        float a = config.decoderScale();
        if (config.normalization() == Normalization.EXPECTED_AVERAGE_ONLY_IN) a /= config.normScalingFactor();
        if (decoderNorms != null) a /= decoderNorms[f];
        return dec.scaledRow(a, f);
    }

    /** Unmaps the weights (for every view of this SAE); idempotent. */
    @Override public void close() {
        if (files == null) return;
        try {
            files.close();
        } catch (Exception e) {
            throw new IllegalStateException(config.source() + ": closing failed: " + e.getMessage(), e);
        }
    }

    @Override public String toString() {
        return "Sae[" + config.architecture().saeLensName() + " " + config.dIn() + "→" + config.dSae() + " at "
                + config.hookName() + ", " + config.source() + "]";
    }

    // ---- internals shared with encoder, decoder and splice ------------------------------------------

    SaeEncoder encoderImpl() { return enc; }

    SaeDecoder decoderImpl() { return dec; }

    float[] bEncArray() { return bEnc; }

    float[] bDecArray() { return bDec; }

    float[] thresholdArray() { return threshold; }

    float[] decoderNormArray() { return decoderNorms; }

    void requireWidth(Activation a) {
        if (a.shape().length != 2 || a.width() != config.dIn()) {
            throw new BadInputException(config.source() + ": SAE expects [positions, " + config.dIn() + "] at "
                    + a.name() + ", got " + Arrays.toString(a.shape()));
        }
    }

    private void requireRows(float[] x, int rows) {
        if ((long) rows * config.dIn() != x.length) {
            throw new BadInputException(config.source() + ": input of " + x.length + " values is not [" + rows + ", " + config.dIn() + "]");
        }
    }

    private static void requireShape(WeightTensor w, String src, String what, long... shape) {
        if (!Arrays.equals(w.shape(), shape)) {
            throw new BadInputException(src + ": " + what + " has shape " + Arrays.toString(w.shape())
                    + ", expected " + Arrays.toString(shape));
        }
    }

    private static void requireLength(float[] v, String src, String what, long n) {
        if (v.length != n) throw new BadInputException(src + ": " + what + " has " + v.length + " values, expected [" + n + "]");
    }

    /** Closes what the views of one SAE share exactly once, whichever view is closed first. */
    private static final class SharedFiles implements AutoCloseable {
        private final AutoCloseable inner;
        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

        SharedFiles(AutoCloseable inner) {
            this.inner = inner;
        }

        @Override public void close() throws Exception {
            if (closed.compareAndSet(false, true)) inner.close();
        }
    }

    private static float[] rowNorms(WeightTensor w) {
        float[] row = new float[w.cols()];
        float[] out = new float[w.rows()];
        for (int r = 0; r < out.length; r++) {
            w.readRow(r, row, 0);
            double s = 0;
            for (float v : row) s += (double) v * v;
            out[r] = (float) Math.sqrt(s);
        }
        return out;
    }
}
