package dev.loupe.model.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The vector shapes every kernel shares: the machine's preferred float width (capped at 16 lanes, so that a
 * 32-value quantization block is a whole number of vectors), and the narrower integer shapes that load the
 * same number of 16-bit or 8-bit stored values.
 */
final class Vectors {
    private Vectors() {}

    /**
     * Lane sum in a fixed (lane) order. {@code reduceLanes(ADD)} adds in lane order when interpreted and as a tree
     * once C2 compiles it, so a process's results changed in the last bits after warm-up; a corpus run resumed in
     * a fresh JVM must compute the same floats as one that ran through. The lanes go through {@code lanes} (at
     * least {@link #L} long), which the caller allocates once per product: a fresh array here was kept by C2, 80
     * bytes per row of every matrix-vector product and half of what {@code loupe serve} allocated under load, and
     * reading the lanes one by one ({@code v.lane(i)}) made generation ~20% slower.
     */
    static float sumLanes(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float sum = 0;
        for (int i = 0; i < L; i++) sum += lanes[i];
        return sum;
    }

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() <= 16
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_512;
    /** Float lanes per vector. */
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** As many shorts as F has floats. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** As many bytes as F has floats, but at least 64 bits (the narrowest shape); then it holds {@link #BYTE_PARTS} float vectors' worth. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    static final int BYTE_PARTS = B.length() / L;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
}
