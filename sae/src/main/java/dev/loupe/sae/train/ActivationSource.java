package dev.loupe.sae.train;

/**
 * Where training activations come from, in a fixed order that can be resumed: a model run over a corpus, or a
 * synthetic generator in tests.
 */
public interface ActivationSource {
    /** Values per row (d_in). */
    int width();

    /** Writes up to {@code maxRows} rows into {@code dst} from row {@code rowOffset}; returns how many (0 at the end). */
    int read(float[] dst, int rowOffset, int maxRows);

    /** A resumable position: what {@link #seek} takes to continue after the rows read so far (or a little before). */
    long position();

    void seek(long position);
}
